"""Who may do what: per-user table privileges and impersonation rights.

Dataverse's security roles are collapsed into one privilege set per user:
`{"read": [...], "create": [...], "write": [...], "delete": [...], "delegate": bool}`, where a
list holds table logical names or "*" for every table. Append/AppendTo are folded into write.
`delegate` is prvActOnBehalfOfAnotherUser, needed to impersonate with `CallerObjectId`.

Defaults come from the user's demo role; the control endpoint changes them at run time and they
persist in the org's data file.
"""

from __future__ import annotations

import threading

from .schema import TABLES, TABLES_BY_NAME, TABLES_BY_SET
from .wire import CANNOT_ACT_ON_BEHALF, PRIVILEGE_DENIED, DataverseError

ACTIONS = ("read", "create", "write", "delete")
_SALES_TABLES = ["account", "contact", "lead", "opportunity", "task", "annotation", "li_inmail",
                 "li_message"]
_ACTIVITY_TABLES = ["task", "annotation", "li_inmail", "li_message"]

ROLE_PRIVILEGES: dict[str, dict] = {
    "integration": {"read": ["*"], "create": ["*"], "write": ["*"], "delete": ["*"],
                    "delegate": True},
    "app": {"read": ["*"], "create": ["*"], "write": ["*"], "delete": ["*"], "delegate": True},
    "admin": {"read": ["*"], "create": ["*"], "write": ["*"], "delete": ["*"], "delegate": False},
    "sales": {"read": ["*"], "create": list(_SALES_TABLES), "write": list(_SALES_TABLES),
              "delete": list(_ACTIVITY_TABLES), "delegate": False},
    "readonly": {"read": [t.logical_name for t in TABLES if t.logical_name != "opportunity"],
                 "create": [], "write": [], "delete": [], "delegate": False},
}

# Dataverse names privileges after the table's schema name: prvReadOpportunity, prvReadNote...
# Users' are prvReadUser ("RetrieveUserPrivileges message privileges": prvReadOrganization,
# prvReadUser), and the built-in activities share the Activity privileges (prvCreateActivity,
# "Activity Privileges"); custom activities (li_inmail) have their own.
_SCHEMA_NAMES = {"systemuser": "User", "annotation": "Note", "task": "Activity",
                 "transactioncurrency": "TransactionCurrency"}


def privilege_name(action: str, logical_name: str) -> str:
    table = TABLES_BY_NAME.get(logical_name)
    if table and table.custom:
        schema = logical_name
    else:
        schema = _SCHEMA_NAMES.get(logical_name, logical_name.capitalize())
    return f"prv{action[:1].upper()}{action[1:]}{schema}"  # "appendTo" -> prvAppendTo...


def normalize_privileges(changes: dict) -> dict:
    """Validate a privileges document from the control endpoint; entity sets become names."""
    normalized: dict = {}
    for key, value in changes.items():
        if key == "delegate":
            if not isinstance(value, bool):
                raise ValueError("'delegate' must be true or false")
            normalized[key] = value
            continue
        if key not in ACTIONS:
            raise ValueError(f"unknown privilege {key!r}; use {', '.join(ACTIONS)} or delegate")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{key!r} must be a list of table names (or [\"*\"])")
        names = []
        for name in value:
            if name in TABLES_BY_SET:
                name = TABLES_BY_SET[name].logical_name
            if name != "*" and name not in TABLES_BY_NAME:
                raise ValueError(f"unknown table {name!r}")
            names.append(name)
        normalized[key] = names
    return normalized


class Security:
    """Privileges of every user, kept in memory and persisted through the store."""

    def __init__(self, store, roles: dict[str, str]):
        self._store = store
        self._lock = threading.Lock()
        self._roles = roles
        self._privileges = store.load_privileges()

    def privileges(self, user_id: str) -> dict:
        with self._lock:
            found = self._privileges.get(user_id)
        if found is None:
            role = self._roles.get(user_id, "sales")
            found = ROLE_PRIVILEGES.get(role, ROLE_PRIVILEGES["sales"])
        return {k: (list(v) if isinstance(v, list) else v) for k, v in found.items()}

    def update(self, user_id: str, changes: dict) -> dict:
        """Replace the privileges named in `changes`, keep the others; returns the result."""
        current = self.privileges(user_id)
        current.update(normalize_privileges(changes))
        with self._lock:
            self._privileges[user_id] = current
        self._store.save_privileges(user_id, current)
        return current

    def reset(self, roles: dict[str, str] | None = None) -> None:
        with self._lock:
            self._privileges = {}
            if roles is not None:
                self._roles = roles
        self._store.clear_privileges()

    def allows(self, user_id: str, action: str, logical_name: str) -> bool:
        granted = self.privileges(user_id).get(action, [])
        return "*" in granted or logical_name in granted

    def can_delegate(self, user_id: str) -> bool:
        return bool(self.privileges(user_id).get("delegate"))

    def require(self, user_id: str, action: str, logical_name: str) -> None:
        """Raise Dataverse's 403 PrivilegeDenied unless the user holds the privilege."""
        if not self.allows(user_id, action, logical_name):
            raise privilege_denied(user_id, action, logical_name)


def privilege_denied(user_id: str, action: str, logical_name: str) -> DataverseError:
    table = TABLES_BY_NAME.get(logical_name)
    code = table.object_type_code if table else 0
    return DataverseError(
        403, PRIVILEGE_DENIED,
        f"Principal user (Id={user_id}, type=8, roleCount=1, accessMode=0), is missing "
        f"{privilege_name(action, logical_name)} privilege on OTC={code} for entity "
        f"'{logical_name}'. The user does not hold the necessary privileges.",
    )


def cannot_impersonate(user_id: str) -> DataverseError:
    return DataverseError(
        403, CANNOT_ACT_ON_BEHALF,
        f"Principal user (Id={user_id}, type=8) is missing prvActOnBehalfOfAnotherUser "
        "privilege. User does not have the privilege to act on behalf another user.",
    )


class Caller:
    """Who a Web API request runs as: the token's user, and the user it impersonates (the same
    user when there is no CallerObjectId header). Privileges are the effective user's."""

    def __init__(self, user: dict, effective: dict | None = None, client_id: str = ""):
        self.user = user
        self.effective = effective or user
        self.client_id = client_id

    @property
    def user_id(self) -> str:
        return self.user["systemuserid"]

    @property
    def effective_id(self) -> str:
        return self.effective["systemuserid"]

    @property
    def impersonating(self) -> bool:
        return self.effective_id != self.user_id

    def acting_as(self, effective: dict) -> Caller:
        return Caller(self.user, effective, self.client_id)
