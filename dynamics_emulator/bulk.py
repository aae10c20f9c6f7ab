"""Bulk operation messages: `POST /{set}/Microsoft.Dynamics.CRM.CreateMultiple` (and
`UpdateMultiple`, `UpsertMultiple`), as the "Use bulk operation messages" page documents them.

    POST /api/data/v9.2/contacts/Microsoft.Dynamics.CRM.CreateMultiple
    {"Targets": [{"lastname": "A", "@odata.type": "Microsoft.Dynamics.CRM.contact"}, ...]}

    200 {"@odata.context": ".../$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse",
         "Ids": ["<guid>", ...]}

The rules (sources: bulk-operations.md, the CreateMultiple/UpdateMultiple/UpsertMultiple action
references, and each table's "Messages" list in the table/entity reference):

- Every item of `Targets` must carry `@odata.type` (the docs: "You must set the `@odata.type`
  property for each item") naming the table the action is bound to; another table's type is
  InvalidArgument (reported against Dataverse for a mixed `EntityCollection`).
- Standard tables are all-or-nothing: "Any error that occurs in a bulk operation with a standard
  table causes the entire operation to roll back." The first failing target's own error is the
  answer; nothing is written.
- There is no set limit on the number of records (only message size and time limits); each
  request counts as one request for service protection.
- Not every standard table has the messages: account, contact, lead and opportunity list
  CreateMultiple/UpdateMultiple/UpsertMultiple in their reference pages; task, annotation and
  systemuser do not. Custom tables have them, except activity tables (the activity tables the
  reference documents, task among them, do not list them). An unsupported table answers
  `0x80040800` "The 'CreateMultiple' method does not support entities of type 'task'.
  MessageProcessorCache returned MessageProcessor.Empty." (the platform's message for a message
  a table lacks; the HTTP status, 400, is not documented).
- UpdateMultiple answers 204; UpsertMultiple answers 200 with the `Ids` (created or updated).
  A target is named by its primary key in the body (or `@odata.id` of the form `set(<guid>)`);
  alternate keys are not emulated.
"""

from __future__ import annotations

import uuid

from .schema import TABLES_BY_NAME, Table
from .security import Caller
from .store import DuplicateKey
from .wire import (
    DUPLICATE,
    INVALID_ARGUMENT,
    NOT_FOUND,
    PAYLOAD_ERROR,
    QUERY_ERROR,
    UNSUPPORTED_MESSAGE,
    DataverseError,
    Request,
    Response,
    json_response,
)
from .writes import convert

MESSAGES = ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")
ACTION_PREFIX = "Microsoft.Dynamics.CRM."

# System tables whose reference pages do not list the bulk messages (custom activity tables are
# excluded through `is_activity`).
_UNSUPPORTED_SYSTEM_TABLES = frozenset({"systemuser", "annotation", "transactioncurrency"})


def bulk_message(segment: str | None) -> str | None:
    """The message name when a path segment is one of the bulk actions, else None."""
    if segment and segment.startswith(ACTION_PREFIX):
        name = segment[len(ACTION_PREFIX):]
        if name in MESSAGES:
            return name
    return None


def supports_bulk(table: Table) -> bool:
    """Whether Dataverse has CreateMultiple/UpdateMultiple/UpsertMultiple for this table."""
    return not table.is_activity and table.logical_name not in _UNSUPPORTED_SYSTEM_TABLES


def unsupported(message: str, table: Table) -> DataverseError:
    return DataverseError(400, UNSUPPORTED_MESSAGE,
                          f"The '{message}' method does not support entities of type "
                          f"'{table.logical_name}'. MessageProcessorCache returned "
                          "MessageProcessor.Empty.")


def _parameter_error(detail: str) -> DataverseError:
    return DataverseError(400, PAYLOAD_ERROR, "An error occurred while validating input "
                          f"parameters: Microsoft.OData.ODataException: {detail}")


class BulkMessages:
    """Runs the three bulk actions through the same rules as single writes (`Writer.apply`)."""

    def __init__(self, writer):
        self.writer = writer
        self.store = writer.store
        self.security = writer.security

    def handle(self, request: Request, caller: Caller, table: Table, message: str) -> Response:
        if request.method != "POST":
            raise DataverseError(405, QUERY_ERROR, "The requested resource does not support "
                                 f"http method '{request.method}'.")
        if not supports_bulk(table):
            raise unsupported(message, table)
        targets = self._targets(request, table)
        privileges = {"CreateMultiple": ("create",), "UpdateMultiple": ("write",),
                      "UpsertMultiple": ("create", "write")}[message]
        for privilege in privileges:
            self.security.require(caller.effective_id, privilege, table.logical_name)
        ids: list[str] = []
        # One transaction: any target's error rolls every earlier target back.
        with self.store.write():
            for target in targets:
                if message == "CreateMultiple":
                    ids.append(self._create(table, target, caller))
                elif message == "UpdateMultiple":
                    ids.append(self._update(table, target, caller, upsert=False))
                else:
                    ids.append(self._update(table, target, caller, upsert=True))
        if message == "UpdateMultiple":
            return Response(204)
        context = f"{request.base_url}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM." \
                  f"{message}Response"
        return json_response(200, {"@odata.context": context, "Ids": ids})

    # -- pieces --------------------------------------------------------------------------------

    def _targets(self, request: Request, table: Table) -> list[dict]:
        try:
            document = request.json()
        except (ValueError, UnicodeDecodeError) as error:
            raise _parameter_error(f"Invalid JSON. {error}") from error
        if not isinstance(document, dict) or "Targets" not in document:
            raise _parameter_error("The parameter 'Targets' is missing. The bulk messages take "
                                   '{"Targets": [ ... ]}.')
        unknown = sorted(key for key in document if key != "Targets" and not key.startswith("@"))
        if unknown:
            raise _parameter_error(f"The parameter '{unknown[0]}' in the request payload is not "
                                   "a valid parameter for the operation.")
        targets = document["Targets"]
        if not isinstance(targets, list):
            raise _parameter_error("The parameter 'Targets' must be a JSON array of records.")
        if not targets:
            raise DataverseError(400, INVALID_ARGUMENT,
                                 "The Targets collection must contain at least one record.")
        for index, target in enumerate(targets):
            if not isinstance(target, dict):
                raise _parameter_error(f"Targets[{index}] is not a JSON object.")
            odata_type = target.get("@odata.type")
            if not odata_type:
                raise _parameter_error("A resource without a type name was found, but no "
                                       "expected type was specified. To allow entries without "
                                       "type information, the expected type must also be "
                                       "specified when the model is specified. (Set "
                                       f"\"@odata.type\": \"{table.type_name}\" on every "
                                       "item of Targets.)")
            name = str(odata_type).lstrip("#").removeprefix(ACTION_PREFIX)
            if name != table.logical_name:
                if name not in TABLES_BY_NAME:
                    raise _parameter_error(f"A type named '{odata_type}' could not be resolved "
                                           "by the model.")
                raise DataverseError(400, INVALID_ARGUMENT,
                                     f"All records in Targets must be of type "
                                     f"'{table.logical_name}' (the entity set the message is "
                                     f"bound to); Targets[{index}] is '{name}'.")
        return targets

    def _target_id(self, table: Table, target: dict, *, required: bool) -> str | None:
        raw = target.get(table.primary_id)
        reference = target.get("@odata.id")
        if raw is None and isinstance(reference, str):
            key = reference.rsplit("(", 1)[-1].rstrip(")") if "(" in reference else ""
            raw = key or None
            if raw is None or "=" in raw:
                raise DataverseError(400, INVALID_ARGUMENT, f"The reference '{reference}' uses "
                                     "an alternate key; the emulator names rows by primary key "
                                     "only.")
        if raw is None:
            if required:
                raise DataverseError(400, INVALID_ARGUMENT,
                                     f"Each record of an UpdateMultiple request needs its "
                                     f"'{table.primary_id}'.")
            return None
        return convert(table, table.by_name[table.primary_id], raw)

    def _create(self, table: Table, target: dict, caller: Caller) -> str:
        row_id = self._target_id(table, target, required=False) or str(uuid.uuid4())
        body = self.writer.apply(table, None, _columns(target), caller, row_id)
        try:
            self.store.insert_row(table.logical_name, row_id, body)
        except DuplicateKey as error:
            raise DataverseError(412, DUPLICATE, "Operation failed due to a SQL integrity "
                                 f"violation. A record with id {row_id} already exists in "
                                 f"'{table.logical_name}'.") from error
        return row_id

    def _update(self, table: Table, target: dict, caller: Caller, *, upsert: bool) -> str:
        row_id = self._target_id(table, target, required=not upsert)
        if row_id is None:  # an upsert without a key creates
            return self._create(table, target, caller)
        current = self.store.get_row(table.logical_name, row_id)
        if current is None:
            if not upsert:
                raise DataverseError(404, NOT_FOUND,
                                     f"{table.logical_name} With Id = {row_id} Does Not Exist")
            return self._create(table, target, caller)
        body = self.writer.apply(table, current.body, _columns(target), caller, row_id)
        self.store.update_row(table.logical_name, row_id, body)
        return row_id


def _columns(target: dict) -> dict:
    """A target without the annotations that address it (`@odata.type`, `@odata.id`)."""
    return {key: value for key, value in target.items() if key not in ("@odata.type", "@odata.id")}
