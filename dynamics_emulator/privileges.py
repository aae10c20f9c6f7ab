"""`RetrieveUserPrivileges`: the privileges a user holds, as Dataverse's bound function answers.

    GET /api/data/v9.2/systemusers(<id>)/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()

Documented at learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/
retrieveuserprivileges: a function (so a GET, read-only) bound to `systemuser`, answering a
`RetrieveUserPrivilegesResponse` whose `RolePrivileges` is a list of `RolePrivilege`
(`BusinessUnitId`, `Depth`, `PrivilegeId`, `PrivilegeName`, `RecordFilterId`,
`RecordFilterUniqueName`; reference/roleprivilege). `Depth` is a `PrivilegeDepth` member, sent
by name (`Basic`, `Local`, `Deep`, `Global`; reference/privilegedepth). The caller needs
prvReadUser ("RetrieveUserPrivileges message privileges").

The emulator's privileges are one organization-wide set per user (`security.py`), so every
privilege is `Global`, and a table's write privilege also stands for its Append and AppendTo
(folded into write there). Tables that do not exist now (the LinkedIn solution uninstalled, a
`missing_tables` fault) have no privileges, as their privileges go with them in Dataverse.
"""

from __future__ import annotations

import uuid

from .metadata import Catalog
from .security import ACTIONS, Caller, Security, privilege_name
from .wire import NOT_FOUND, DataverseError, Request, Response, json_response, segment_not_found

FUNCTION = "Microsoft.Dynamics.CRM.RetrieveUserPrivileges"
ACT_ON_BEHALF = "prvActOnBehalfOfAnotherUser"
# The namespace of the emulator's privilege ids (uuid5 of the name: the same in every org).
_IDS = uuid.UUID("5f0c1d2e-9a4b-4c1f-8e36-0d5b8f7a2c11")
_NO_FILTER = "00000000-0000-0000-0000-000000000000"


def is_call(rest: str) -> bool:
    """True when a `systemusers(id)/<rest>` segment names this function."""
    return rest in (FUNCTION, f"{FUNCTION}()")


def privilege_names(security: Security, catalog: Catalog, user_id: str) -> list[str]:
    """The names of the privileges `user_id` holds, in a stable order."""
    held = security.privileges(user_id)
    tables = [table.logical_name for table in catalog.tables()]
    names: list[str] = []
    for action in ACTIONS:
        granted = held.get(action, [])
        for logical_name in tables:
            if "*" not in granted and logical_name not in granted:
                continue
            names.append(privilege_name(action, logical_name))
            if action == "write":
                names.append(privilege_name("append", logical_name))
                names.append(privilege_name("appendTo", logical_name))
    if held.get("delegate"):
        names.append(ACT_ON_BEHALF)
    return list(dict.fromkeys(names))


def retrieve_user_privileges(request: Request, api, caller: Caller, user_id: str) -> Response:
    """Answer the function for the user `user_id` (any user: the caller needs prvReadUser)."""
    users = api.catalog.by_name("systemuser")
    if users is None:
        raise segment_not_found("systemusers")
    api.require_read(caller, users)
    target = api.store.get_row("systemuser", user_id)
    if target is None:
        raise DataverseError(404, NOT_FOUND, f"systemuser With Id = {user_id} Does Not Exist")
    business_unit = target.body.get("_businessunitid_value") or api.org["business_unit_id"]
    privileges = [
        {
            "BusinessUnitId": business_unit,
            "Depth": "Global",
            "PrivilegeId": str(uuid.uuid5(_IDS, name.lower())),
            "PrivilegeName": name,
            "RecordFilterId": _NO_FILTER,
            "RecordFilterUniqueName": None,
        }
        for name in privilege_names(api.security, api.catalog, user_id)
    ]
    return json_response(200, {
        "@odata.context": f"{request.base_url}/api/data/v9.2/$metadata#"
                          "Microsoft.Dynamics.CRM.RetrieveUserPrivilegesResponse",
        "RolePrivileges": privileges,
    })
