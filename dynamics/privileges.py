"""What a user may do: the privileges Dataverse says they hold, read without changing anything.

`RetrieveUserPrivileges` is a Web API *function* (a GET) bound to `systemuser`
(learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/retrieveuserprivileges);
it answers `RolePrivileges`, a list of `RolePrivilege` (reference/roleprivilege) whose `Depth` is
a `PrivilegeDepth` (reference/privilegedepth): Basic, Local, Deep, Global (or RecordFilter). The
caller needs prvReadUser. A user holding one privilege through several roles is listed once per
role; the deepest counts.
"""

from __future__ import annotations

from typing import Any

from .errors import MalformedResponse
from .odata import guid
from .reads import ClientReads

# PrivilegeDepth's members in order of reach; Web API answers name them, the SDK numbers them.
DEPTHS = ("Basic", "Local", "Deep", "Global")
_BY_NUMBER = dict(enumerate(DEPTHS))
_RECORD_FILTER = "RecordFilter"


def depth_rank(depth: str) -> int:
    """How far a depth reaches: Basic 0 ... Global 3; RecordFilter (a filter's rows) counts as
    Basic, the least a privilege gives."""
    return DEPTHS.index(depth) if depth in DEPTHS else 0


class PrivilegeQueries(ClientReads):
    """Privilege methods of DynamicsClient (kept here so client.py stays about rows)."""

    def user_privileges(self, user_id: str) -> dict[str, str]:
        """`{privilege name: deepest depth}` the user holds through their roles, e.g.
        `{"prvReadAccount": "Global", "prvActOnBehalfOfAnotherUser": "Global"}`.

        Names are as Dataverse spells them (`prvCreateli_inmail` follows the table's schema
        name, so compare without case). Raises PrivilegeError when the caller may not read users.
        """
        path = f"systemusers({guid(user_id)})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()"
        data = self._get_json(path, table="systemusers")
        items = data.get("RolePrivileges")
        if not isinstance(items, list):
            raise MalformedResponse(
                "RetrieveUserPrivileges answered without a RolePrivileges list",
                url=self._url(path),
                table="systemusers",
            )
        held: dict[str, str] = {}
        for item in items:
            name, depth = self._role_privilege(item, url=self._url(path))
            if name not in held or depth_rank(depth) > depth_rank(held[name]):
                held[name] = depth
        return held

    @staticmethod
    def _role_privilege(item: Any, *, url: str) -> tuple[str, str]:
        name = item.get("PrivilegeName") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            raise MalformedResponse(
                "a RolePrivilege without a PrivilegeName", url=url, table="systemusers"
            )
        depth = item.get("Depth")
        if isinstance(depth, int) and not isinstance(depth, bool):
            depth = _BY_NUMBER.get(depth, _RECORD_FILTER)
        if not isinstance(depth, str):
            raise MalformedResponse(
                f"RolePrivilege {name} without a Depth", url=url, table="systemusers"
            )
        return name, depth
