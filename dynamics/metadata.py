"""Table and column metadata: what an admin picks from, and what the sync checks before reading.

Queries follow Microsoft's "Query table definitions using the Web API": metadata is never paged,
derived attribute types need a cast in the path (`/Attributes/Microsoft.Dynamics.CRM.
PicklistAttributeMetadata`), and labels live in `DisplayName.UserLocalizedLabel.Label`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import MalformedResponse, MissingObjectError
from .http import JsonObject
from .odata import build_query, metadata_key, with_query
from .reads import ClientReads

LINKEDIN_TABLES = ("li_inmail", "li_message")


@dataclass(frozen=True)
class Option:
    """One choice of a choice (picklist) column."""

    value: int
    label: str


@dataclass(frozen=True)
class Column:
    """A column an admin can pick, with its display label."""

    logical_name: str
    label: str


def label_text(label: Any) -> str | None:
    """The user's label from a Dataverse `Label` object, else the first localized one."""
    if not isinstance(label, dict):
        return None
    candidates = [label.get("UserLocalizedLabel"), *(label.get("LocalizedLabels") or [])]
    for candidate in candidates:
        text = candidate.get("Label") if isinstance(candidate, dict) else None
        if isinstance(text, str):
            return text
    return None


class MetadataQueries(ClientReads):
    """Metadata methods of DynamicsClient (kept here so client.py stays about rows)."""

    def entity_definition(self, logical_name: str, select: list[str] | None = None) -> JsonObject:
        """The EntityDefinition of a table (raises MissingObjectError when it does not exist)."""
        path = with_query(metadata_key(logical_name), build_query(select=select))
        return self._get_json(path, table=logical_name)

    def table_exists(self, logical_name: str) -> bool:
        try:
            self.entity_definition(logical_name, select=["LogicalName"])
        except MissingObjectError:
            return False
        return True

    def change_tracking_enabled(self, logical_name: str) -> bool:
        path = with_query(metadata_key(logical_name), "$select=ChangeTrackingEnabled")
        enabled = self._get_json(path, table=logical_name).get("ChangeTrackingEnabled")
        if not isinstance(enabled, bool):
            raise MalformedResponse(
                f"EntityDefinition of {logical_name} has no boolean ChangeTrackingEnabled",
                table=logical_name,
                url=self._url(path),
            )
        return enabled

    def picklist_options(self, logical_name: str, attribute: str) -> list[Option]:
        """The options of a choice column, in metadata order."""
        path = with_query(
            f"{metadata_key(logical_name)}/Attributes/"
            "Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
            "$select=LogicalName,DisplayName&$expand=OptionSet",
        )
        for item in self._attribute_list(path, logical_name):
            if item.get("LogicalName") != attribute:
                continue
            option_set = item.get("OptionSet")
            options = option_set.get("Options") if isinstance(option_set, dict) else None
            if not isinstance(options, list):
                raise MalformedResponse(
                    f"choice column {logical_name}.{attribute} has no OptionSet.Options list",
                    table=logical_name,
                )
            return [self._option(logical_name, attribute, option) for option in options]
        raise MissingObjectError(
            f"Table {logical_name} has no choice column {attribute}.", table=logical_name
        )

    def money_columns(self, logical_name: str) -> list[Column]:
        """All currency columns of a table (including the `_base` ones), in metadata order."""
        path = with_query(
            f"{metadata_key(logical_name)}/Attributes/Microsoft.Dynamics.CRM.MoneyAttributeMetadata",
            "$select=LogicalName,DisplayName",
        )
        columns = []
        for item in self._attribute_list(path, logical_name):
            name = item.get("LogicalName")
            if not isinstance(name, str):
                raise MalformedResponse(
                    f"money attribute of {logical_name} without a LogicalName", table=logical_name
                )
            columns.append(Column(name, label_text(item.get("DisplayName")) or name))
        return columns

    def linkedin_solution_installed(self) -> bool:
        """True when the LinkedIn Sales Navigator activity tables (InMail and Message) exist."""
        return all(self.table_exists(name) for name in LINKEDIN_TABLES)

    def whoami(self, *, caller_object_id: str | None = None) -> JsonObject:
        """`{"UserId", "BusinessUnitId", "OrganizationId"}` of the caller: a connection test.

        With `caller_object_id` the request impersonates that user (Entra object id); Dataverse
        then answers with their UserId, or 403 when the caller may not act on behalf of others.
        """
        data = self._get_json("WhoAmI", caller_object_id=caller_object_id)
        if not isinstance(data.get("UserId"), str):
            raise MalformedResponse("WhoAmI answered without a UserId", url=self._url("WhoAmI"))
        return data

    def _attribute_list(self, path: str, logical_name: str) -> list[JsonObject]:
        data = self._get_json(path, table=logical_name)
        items = data.get("value")
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise MalformedResponse(
                f"attribute metadata of {logical_name} has no 'value' list of objects",
                table=logical_name,
                url=self._url(path),
            )
        return items

    @staticmethod
    def _option(logical_name: str, attribute: str, option: Any) -> Option:
        value = option.get("Value") if isinstance(option, dict) else None
        if isinstance(value, bool) or not isinstance(value, int):
            raise MalformedResponse(
                f"an option of {logical_name}.{attribute} has no integer Value", table=logical_name
            )
        return Option(value, label_text(option.get("Label")) or str(value))
