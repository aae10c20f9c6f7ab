"""Writes through the Web API: create, update, upsert, delete, single-property PUT.

The rules Dataverse applies and clients meet:

- POST creates with a caller-chosen primary key if the body has one; an existing key is 412
  DuplicateRecord. 204 + `OData-EntityId`, or 201 + the row with `Prefer: return=representation`.
- PATCH is an upsert: it creates a missing row. `If-Match: *` prevents the create (404),
  `If-None-Match: *` prevents the update (412), `If-Match: W/"n"` is optimistic concurrency.
- Lookups are written with `<navigation property>@odata.bind`; writing `_x_value` is refused.
  The bound row must exist.
- Activities are created open whatever the body says about statecode/statuscode (as community
  reports describe); a closed activity only accepts a state change. Status must fit the state.
- Strings longer than the column's maximum fail with Dataverse's validation error.
- The platform fills createdon/modifiedon, createdby/modifiedby (the impersonated user when there
  is one) and createdonbehalfby/modifiedonbehalfby (the real caller), owner and versionnumber.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

from . import odata
from .currency import base_amounts_set
from .odata import Prefer
from .projection import LOGICAL, PARTIES_KEY, PARTY_TYPE_KEY
from .schema import (
    PARTY_TARGETS,
    TABLES_BY_NAME,
    TABLES_BY_SET,
    UNEMULATED_TARGETS,
    Attribute,
    Table,
)
from .security import Caller
from .store import DuplicateKey
from .wire import (
    DUPLICATE,
    INVALID_ARGUMENT,
    NO_HTTP_RESOURCE,
    NOT_FOUND,
    OPTION_OUT_OF_RANGE,
    PAYLOAD_ERROR,
    PROPERTY_NOT_FOUND,
    VALIDATION,
    VERSION_MISMATCH,
    DataverseError,
    Request,
    Response,
    json_response,
    segment_not_found,
)

_BIND = re.compile(r"^(?:.*?/api/data/v\d+\.\d+/|/)?(?P<set>[A-Za-z_][A-Za-z0-9_]*)"
                   r"\(\{?(?P<id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12})\}?\)$")
_GUID_TEXT = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                        r"[0-9a-fA-F]{12}$")
_STATE_KEYS = ("statecode", "statuscode")
_COMPUTED_NAMES = ("contact", "lead", "systemuser")


def now_stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def payload_error(table: Table, detail: str) -> DataverseError:
    """Dataverse's answer to a body the OData layer cannot read."""
    return DataverseError(
        400, PAYLOAD_ERROR,
        f"Error identified in Payload provided by the user for Entity :'{table.entity_set}', For "
        "more information on this error please follow this help link "
        "https://go.microsoft.com/fwlink/?linkid=2195293  ----> InnerException : "
        f"Microsoft.OData.ODataException: {detail}")


def _conversion_error(table: Table, value, edm: str) -> DataverseError:
    return payload_error(table, f"Cannot convert the literal '{value}' to the expected type "
                                f"'{edm}'.")


def _length_error(table: Table, attribute: Attribute) -> DataverseError:
    return DataverseError(
        400, VALIDATION,
        f"A validation error occurred.  The length of the '{attribute.name}' attribute of the "
        f"'{table.logical_name}' entity exceeded the maximum allowed length of "
        f"'{attribute.max_length}'.")


def convert(table: Table, attribute: Attribute, value):
    """Check a body value against its column and return it in stored form."""
    if value is None:
        return None
    kind = attribute.type
    edm = odata.edm_type(attribute)
    if kind in ("String", "Memo", "EntityName"):
        if not isinstance(value, str):
            raise _conversion_error(table, value, edm)
        if attribute.max_length is not None and len(value) > attribute.max_length:
            raise _length_error(table, attribute)
        return value
    if kind in ("Integer", "BigInt"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _conversion_error(table, value, edm)
        if kind == "Integer" and not -2**31 <= value < 2**31:
            raise _conversion_error(table, value, edm)
        return value
    if kind in ("Decimal", "Double", "Money"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _conversion_error(table, value, edm)
        return float(value)
    if kind == "Boolean":
        if not isinstance(value, bool):
            raise _conversion_error(table, value, edm)
        return value
    if kind in ("Picklist", "State", "Status"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _conversion_error(table, value, edm)
        if attribute.option_label(value) is None:
            accepted = ",".join(str(o.value) for o in attribute.options)
            raise DataverseError(
                400, OPTION_OUT_OF_RANGE,
                f"A validation error occurred. The value {value} of '{attribute.name}' on record "
                f"of type '{table.logical_name}' is outside the valid range. Accepted Values: "
                f"{accepted}")
        return value
    if kind == "DateTime":
        if not isinstance(value, str):
            raise _conversion_error(table, value, edm)
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                stamp = f"{value}T00:00:00Z"
            else:
                stamp = odata.normalize_datetime(value)
        except odata.QueryError as error:
            raise _conversion_error(table, value, edm) from error
        return stamp[:10] if attribute.date_only else stamp
    if kind == "Uniqueidentifier":
        if not isinstance(value, str) or not _GUID_TEXT.match(value.strip("{}")):
            raise _conversion_error(table, value, edm)
        return value.strip("{}").lower()
    raise _conversion_error(table, value, edm)


class Writer:
    """Create/update/upsert/delete handlers for entity sets."""

    def __init__(self, *, store, catalog, security, api):
        self.store = store
        self.catalog = catalog
        self.security = security
        self.api = api

    # -- handlers ------------------------------------------------------------------------------

    def create(self, request: Request, caller: Caller, table: Table) -> Response:
        payload = self._payload(request, table)
        self.security.require(caller.effective_id, "create", table.logical_name)
        row_id = payload.get(table.primary_id) or str(uuid.uuid4())
        row_id = convert(table, table.by_name[table.primary_id], row_id)
        with self.store.write():
            body = self.apply(table, None, payload, caller, row_id)
            try:
                version = self.store.insert_row(table.logical_name, row_id, body)
            except DuplicateKey as error:
                raise DataverseError(412, DUPLICATE, "Operation failed due to a SQL integrity "
                                     f"violation. A record with id {row_id} already exists in "
                                     f"'{table.logical_name}'.") from error
        return self._written(request, caller, table, row_id, version, created=True)

    def upsert(self, request: Request, caller: Caller, table: Table, row_id: str) -> Response:
        payload = self._payload(request, table)
        if_match = request.header("if-match")
        if_none_match = request.header("if-none-match")
        if if_none_match == "null":  # sent by clients on every request, means nothing
            if_none_match = None
        with self.store.write():
            current = self.store.get_row(table.logical_name, row_id)
            if current is None:
                if if_match:
                    raise DataverseError(404, NOT_FOUND, f"{table.logical_name} With Id = "
                                         f"{row_id} Does Not Exist")
                self.security.require(caller.effective_id, "create", table.logical_name)
                body = self.apply(table, None, payload, caller, row_id)
                version = self.store.insert_row(table.logical_name, row_id, body)
                created = True
            else:
                if if_none_match == "*":
                    raise DataverseError(412, DUPLICATE,
                                         "A record with matching key values already exists.")
                _check_etag(if_match, current.version)
                self.security.require(caller.effective_id, "write", table.logical_name)
                body = self.apply(table, current.body, payload, caller, row_id)
                version = self.store.update_row(table.logical_name, row_id, body)
                created = False
        return self._written(request, caller, table, row_id, version, created=created)

    def delete(self, request: Request, caller: Caller, table: Table, row_id: str) -> Response:
        self.security.require(caller.effective_id, "delete", table.logical_name)
        with self.store.write():
            current = self.store.get_row(table.logical_name, row_id)
            if current is None:
                raise DataverseError(404, NOT_FOUND,
                                     f"{table.logical_name} With Id = {row_id} Does Not Exist")
            _check_etag(request.header("if-match"), current.version)
            self.store.delete_row(table.logical_name, row_id)
        return Response(204)

    def property(self, request: Request, caller: Caller, table: Table, row_id: str,
                 name: str) -> Response:
        """GET/PUT/DELETE of one column: `/accounts(id)/name`."""
        attribute = table.by_wire.get(name) or table.by_name.get(name)
        if attribute is None:
            raise segment_not_found(name)
        if request.method == "GET":
            self.api.require_read(caller, table)
            row = self.store.get_row(table.logical_name, row_id)
            if row is None:
                raise DataverseError(404, NOT_FOUND,
                                     f"{table.logical_name} With Id = {row_id} Does Not Exist")
            value = row.body.get(attribute.wire_name)
            if value is None:
                return Response(204)
            context = (f"{request.base_url}/api/data/v9.2/$metadata#{table.entity_set}"
                       f"({row_id})/{attribute.wire_name}")
            return json_response(200, {"@odata.context": context, "value": value})
        if request.method not in ("PUT", "DELETE"):
            raise DataverseError(405, NO_HTTP_RESOURCE, "The requested resource does not "
                                 f"support http method '{request.method}'.")
        if attribute.is_lookup:
            raise payload_error(table, "Lookups are changed with @odata.bind or $ref, not PUT.")
        if request.method == "PUT":
            document = self._payload(request, table)
            if "value" not in document:
                raise payload_error(table, "A PUT of a property needs a body {\"value\": ...}.")
            payload = {attribute.name: document["value"]}
        else:
            payload = {attribute.name: None}
        self.security.require(caller.effective_id, "write", table.logical_name)
        with self.store.write():
            current = self.store.get_row(table.logical_name, row_id)
            if current is None:
                raise DataverseError(404, NOT_FOUND,
                                     f"{table.logical_name} With Id = {row_id} Does Not Exist")
            body = self.apply(table, current.body, payload, caller, row_id)
            self.store.update_row(table.logical_name, row_id, body)
        return Response(204)

    # -- pieces --------------------------------------------------------------------------------

    def _payload(self, request: Request, table: Table) -> dict:
        try:
            payload = request.json()
        except (ValueError, UnicodeDecodeError) as error:
            raise payload_error(table, f"Invalid JSON. {error}") from error
        if not isinstance(payload, dict):
            raise payload_error(table, "The request body must be a JSON object.")
        return payload

    def _written(self, request: Request, caller: Caller, table: Table, row_id: str, version: int,
                 *, created: bool) -> Response:
        entity_url = f"{request.base_url}/api/data/v9.2/{table.entity_set}({row_id})"
        prefer = Prefer.parse(request.header_values("prefer"))
        if not prefer.return_representation:
            return Response(204, headers=[("OData-EntityId", entity_url)])
        row = self.store.get_row(table.logical_name, row_id)
        shaper = self.api.shaper(table, request.query, prefer, caller)
        item = shaper.shape([row])[0]
        context = self.api.context_url(request, table, request.query, "/$entity")
        return json_response(201 if created else 200, {"@odata.context": context, **item},
                             [("ETag", f'W/"{version}"'),
                              ("Preference-Applied", "return=representation")])

    def _bind(self, table: Table, nav_name: str, value) -> tuple[str | None, str | None]:
        """(target id, target logical name) of an `@odata.bind` value; checks the row exists."""
        nav = table.navigations[nav_name]
        if value is None:
            return None, None
        if not isinstance(value, str):
            raise payload_error(table, f"The value of '{nav_name}@odata.bind' must be a URL.")
        if re.fullmatch(r"\$[A-Za-z0-9_.-]+", value):
            raise DataverseError(400, INVALID_ARGUMENT,
                                 f"Content-ID Reference: '{value}' does not exist in the batch "
                                 "context.")
        match = _BIND.match(value.strip())
        if not match:
            raise payload_error(table, f"The URL '{value}' in '{nav_name}@odata.bind' is not "
                                       "an entity reference like /contacts(<guid>).")
        entity_set, target_id = match.group("set"), match.group("id").lower()
        if nav.target in UNEMULATED_TARGETS:
            return target_id, nav.target
        target = TABLES_BY_SET.get(entity_set)
        if target is None or target.logical_name != nav.target \
                or self.catalog.by_name(nav.target) is None:
            raise payload_error(table, f"The entity set '{entity_set}' does not match the "
                                       f"navigation property '{nav_name}' (expects "
                                       f"{TABLES_BY_NAME[nav.target].entity_set}).")
        if self.store.get_row(target.logical_name, target_id) is None:
            raise DataverseError(404, NOT_FOUND,
                                 f"{target.logical_name} With Id = {target_id} Does Not Exist")
        return target_id, target.logical_name

    def _parties(self, table: Table, value) -> list[dict]:
        if not isinstance(value, list):
            raise payload_error(table, f"'{table.party_list}' must be a JSON array of parties.")
        parties = []
        for party in value:
            if not isinstance(party, dict):
                raise payload_error(table, "Each activity party must be a JSON object.")
            binds = [(k, v) for k, v in party.items() if k.endswith("@odata.bind")]
            mask = party.get("participationtypemask")
            if len(binds) != 1 or isinstance(mask, bool) or not isinstance(mask, int):
                raise payload_error(table, "An activity party needs one partyid_<table>@odata.bind "
                                           "and an integer participationtypemask.")
            nav_name = binds[0][0][: -len("@odata.bind")]
            target = nav_name.removeprefix("partyid_")
            if not nav_name.startswith("partyid_") or target not in PARTY_TARGETS:
                raise payload_error(table, f"An undeclared property '{nav_name}' which only has "
                                           "property annotations in the payload but no property "
                                           "value was found in the payload.")
            match = _BIND.match(str(binds[0][1]).strip())
            target_table = TABLES_BY_NAME[target]
            if not match or match.group("set") != target_table.entity_set:
                raise payload_error(table, f"The URL '{binds[0][1]}' does not reference a "
                                           f"{target} row.")
            party_id = match.group("id").lower()
            if self.store.get_row(target, party_id) is None:
                raise DataverseError(404, NOT_FOUND, f"{target} With Id = {party_id} Does Not "
                                                     "Exist")
            parties.append({"activitypartyid": str(uuid.uuid4()), "_partyid_value": party_id,
                            PARTY_TYPE_KEY: target, "participationtypemask": mask})
        return parties

    def apply(self, table: Table, current: dict | None, payload: dict, caller: Caller,
              row_id: str) -> dict:
        """The row body after applying a write `payload` to `current` (None when creating)."""
        creating = current is None
        body = dict(current or {})
        if not creating and table.is_activity and body.get("statecode", 0) != 0:
            others = [key for key in payload
                      if key not in _STATE_KEYS and not key.startswith("@")]
            if others:
                raise DataverseError(400, INVALID_ARGUMENT, "Cannot update Closed or Cancelled "
                                     f"Activity. The {table.logical_name} {row_id} is closed; "
                                     "reopen it (statecode 0) before changing "
                                     f"{', '.join(sorted(others))}.")
        for key, value in payload.items():
            if key.startswith("@"):
                continue  # @odata.type, @odata.etag...: annotations of the payload itself
            if key.endswith("@odata.bind"):
                nav_name = key[: -len("@odata.bind")]
                nav = table.navigations.get(nav_name)
                if nav is None:
                    raise payload_error(table, f"An undeclared property '{nav_name}' which only "
                                               "has property annotations in the payload but no "
                                               "property value was found in the payload. In "
                                               "OData, only declared navigation properties and "
                                               "declared named streams can be represented as "
                                               "properties without values.")
                if not nav.attribute.writable:
                    raise payload_error(table, f"The navigation property '{nav_name}' cannot be "
                                               "set.")
                target_id, target = self._bind(table, nav_name, value)
                wire = nav.attribute.wire_name
                body[wire] = target_id
                if len(nav.attribute.targets) > 1 and target_id:
                    body[f"{wire}@{LOGICAL}"] = target
                else:
                    body.pop(f"{wire}@{LOGICAL}", None)
                continue
            if "@" in key:
                continue  # instance annotations such as x@OData.Community.Display.V1...
            if key == table.party_list:
                body[PARTIES_KEY] = self._parties(table, value)
                continue
            attribute = table.by_name.get(key)
            if attribute is None or attribute.is_lookup:
                if key in table.by_wire or (attribute is not None and attribute.is_lookup):
                    raise payload_error(table, "CRM do not support direct update of Entity "
                                               "Reference properties, Use Navigation properties "
                                               f"instead. (property '{key}')")
                if key in table.navigations:
                    raise payload_error(table, f"Deep insert through '{key}' is not supported by "
                                               "the emulator; bind an existing row with "
                                               f"'{key}@odata.bind'.")
                # The answer the client-errors page shows for a misspelt property.
                raise DataverseError(
                    400, PROPERTY_NOT_FOUND, "An error occurred while validating input "
                    f"parameters: Microsoft.Crm.CrmException: Invalid property '{key}' was found "
                    f"in entity '{table.type_name}'. ---> Microsoft.OData.ODataException: Does "
                    "not support untyped value in non-open type.")
            if key in _STATE_KEYS:
                continue  # below, after all columns
            if key == table.primary_id:
                if convert(table, attribute, value) != row_id:
                    raise payload_error(table, f"The primary key '{key}' in the body does not "
                                               "match the key in the URL.")
                continue
            if not attribute.writable:
                continue  # read-only columns in a body are ignored, as by Dataverse
            # The catalog's copy: an admin may have changed a choice column's options.
            body[key] = convert(table, self.catalog.attribute(table, attribute), value)

        base_amounts_set(self.store, table, body, base_currency_id=self.api.org["currency_id"])
        self._apply_state(table, body, payload, creating, row_id)
        self._platform_columns(table, body, caller, creating, row_id)
        return body

    def _apply_state(self, table: Table, body: dict, payload: dict, creating: bool,
                     row_id: str) -> None:
        if "statecode" not in table.by_name:
            return
        if creating:
            body["statecode"], body["statuscode"] = 0, table.default_status(0)
            if table.is_activity:
                return  # activities are always created open
        if "statecode" not in payload and "statuscode" not in payload:
            return
        state_attribute = table.by_name["statecode"]
        state = body.get("statecode", 0)
        if "statecode" in payload:
            state = convert(table, state_attribute, payload["statecode"])
            if state is None:
                raise _conversion_error(table, None, "Edm.Int32")
        status = payload.get("statuscode")
        if status is None:
            status = table.default_status(state) if state != body.get("statecode") \
                else body.get("statuscode")
        else:
            status = convert(table, table.by_name["statuscode"], status)
        if table.status_state(status) != state:
            raise DataverseError(
                400, INVALID_ARGUMENT,
                f"{status} is not a valid status code for state code "
                f"{table.logical_name.capitalize()}State."
                f"{state_attribute.option_label(state)} on {table.logical_name} with Id "
                f"{row_id}.")
        body["statecode"], body["statuscode"] = state, status

    def _platform_columns(self, table: Table, body: dict, caller: Caller, creating: bool,
                          row_id: str) -> None:
        now = now_stamp()
        on_behalf = caller.user_id if caller.impersonating else None
        if creating:
            body[table.primary_id] = row_id
            body["createdon"] = now
            body["_createdby_value"] = caller.effective_id
            body["_createdonbehalfby_value"] = on_behalf
            if "ownerid" in table.by_name and not body.get("_ownerid_value"):
                body["_ownerid_value"] = caller.effective_id
            if table.is_activity:
                body["activitytypecode"] = table.logical_name
        body["modifiedon"] = now
        body["_modifiedby_value"] = caller.effective_id
        body["_modifiedonbehalfby_value"] = on_behalf
        if table.logical_name == "annotation":
            body["objecttypecode"] = body.get("_objectid_value@" + LOGICAL)
        if table.logical_name in _COMPUTED_NAMES:
            body["fullname"] = " ".join(
                part for part in (body.get("firstname"), body.get("lastname")) if part)


def _check_etag(if_match: str | None, version: int) -> None:
    """Optimistic concurrency: `If-Match: W/"n"` must name the current version."""
    if not if_match or if_match.strip() == "*":
        return
    if if_match.strip() != f'W/"{version}"':
        raise DataverseError(412, VERSION_MISMATCH, "The version of the existing record doesn't "
                             "match the RowVersion property provided.")
