"""The Dataverse Web API under `/api/data/v9.2/`: authentication, routing and reads.

A request is authenticated (bearer token, optional `CallerObjectId` impersonation), counted
against service protection, then routed: the service document, `$metadata`, `$batch`, `WhoAmI`,
metadata (`metadata.py`), entity-set reads (here) and writes (`writes.py`).

Collection reads page with keyset cookies: the `$skiptoken` carries the last row's key, so every
page is one indexed range query. Change tracking (`Prefer: odata.track-changes`, then
`$deltatoken`) pages the same way and ends with an `@odata.deltaLink`.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import urllib.parse

from . import odata, privileges
from .batch import run_batch
from .bulk import BulkMessages, bulk_message
from .metadata import Catalog, MetadataApi
from .odata import Prefer, QueryError
from .projection import Shaper
from .protection import ServiceProtection
from .schema import Table
from .security import Caller, Security, cannot_impersonate, privilege_denied
from .store import Store
from .wire import (
    AUTH_FAILED,
    CHANGE_TRACKING_NOT_ENABLED,
    EXPIRED_VERSION_STAMP,
    NO_HTTP_RESOURCE,
    NOT_FOUND,
    QUERY_ERROR,
    USER_DISABLED,
    DataverseError,
    Request,
    Response,
    json_page,
    json_response,
    odata_headers,
    segment_not_found,
)
from .writes import Writer

API_PREFIX = "/api/data/v9.2/"
MAX_PAGE_SIZE = 5000
COUNT_LIMIT = 5000
DELTA_TOKEN_DAYS = 7  # organization.expirechangetrackingindays default

_ENTITY_PATH = re.compile(
    r"^(?P<set>[A-Za-z_][A-Za-z0-9_]*)(?:\((?P<key>[^)]*)\))?(?:/(?P<rest>[^/]+))?$")
_GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12})\}?$")
_KNOWN_OPTIONS = {"$select", "$filter", "$orderby", "$top", "$expand", "$count", "$skiptoken",
                  "$deltatoken"}
_UNSUPPORTED_BY_DATAVERSE = {"$skip", "$search", "$format"}
_NOT_EMULATED = {"$apply", "fetchXml", "savedQuery", "userQuery"}
_TRACKING_REJECTS = ("$filter", "$orderby", "$expand", "$top")


def parse_guid(text: str) -> str | None:
    match = _GUID.match(text.strip().strip("'"))
    return match.group(1).lower() if match else None


def not_found_row(table: Table, row_id: str) -> DataverseError:
    return DataverseError(404, NOT_FOUND, f"{table.logical_name} With Id = {row_id} Does Not Exist")


class WebApi:
    """Handles every request under /api/data/v9.2/."""

    def __init__(self, *, store: Store, catalog: Catalog, security: Security, faults,
                 org: dict, protection: ServiceProtection | None = None):
        self.store = store
        self.catalog = catalog
        self.security = security
        self.faults = faults
        self.org = org
        self.protection = protection or ServiceProtection({"enabled": False})
        self.metadata = MetadataApi(catalog)
        self.writer = Writer(store=store, catalog=catalog, security=security, api=self)
        self.bulk = BulkMessages(self.writer)

    # -- entry points --------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Authenticate, apply service protection and route one HTTP request."""
        try:
            caller = self.authenticate(request)
            ticket = self.protection.admit(caller.user_id)
            try:
                response = self.route(request, caller)
            finally:
                # What is left, on every answer to this user, as Dataverse sends it.
                headers = self.protection.finish(ticket)
            response.headers.extend(headers)
            return response
        except DataverseError as error:
            return error.response()
        except QueryError as error:
            return DataverseError(400, error.code, str(error)).response()

    def route(self, request: Request, caller: Caller) -> Response:
        """Route an authenticated request (also used for each part of a `$batch`)."""
        try:
            caller = self._impersonate(request, caller)
            response = self._dispatch(request, caller)
        except DataverseError as error:
            return error.response()
        except QueryError as error:
            return DataverseError(400, error.code, str(error)).response()
        response.headers[:0] = odata_headers()
        return response

    # -- identity of the caller ----------------------------------------------------------------

    def _unauthorized(self, request: Request, message: str) -> DataverseError:
        tenant = self.org["tenant_id"]
        challenge = (f"Bearer authorization_uri={request.base_url}/{tenant}/oauth2/authorize, "
                     f"resource_id={request.base_url}/")
        return DataverseError(401, AUTH_FAILED, message, [("WWW-Authenticate", challenge)])

    def authenticate(self, request: Request) -> Caller:
        header = request.header("authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise self._unauthorized(request, "The requested resource requires authentication. "
                                     "No bearer token was sent.")
        found = self.store.find_access_token(token.strip())
        if found is None:
            raise self._unauthorized(request, "The requested resource requires authentication. "
                                     "The access token is not valid for this organization.")
        user_id, client_id, resource, expires_at = found
        if expires_at <= time.time():
            raise self._unauthorized(request, "The requested resource requires authentication. "
                                     "The access token has expired.")
        if not _same_resource(resource, request.base_url):
            raise self._unauthorized(request, f"The access token was issued for '{resource}', "
                                     f"not for this organization ({request.base_url}).")
        user = self.store.get_row("systemuser", user_id)
        if user is None or user.body.get("isdisabled"):
            raise self._unauthorized(request, f"The user with SystemUserId={user_id} is disabled "
                                     "or does not exist in this organization.")
        return Caller(user.body, client_id=client_id)

    def _impersonate(self, request: Request, caller: Caller) -> Caller:
        object_id = request.header("callerobjectid")
        system_user_id = request.header("mscrmcallerid")
        if not object_id and not system_user_id:
            return caller
        if not self.security.can_delegate(caller.user_id):
            raise cannot_impersonate(caller.user_id)
        if object_id:
            wanted = parse_guid(object_id)
            column, header = "azureactivedirectoryobjectid", "CallerObjectId"
        else:
            wanted = parse_guid(system_user_id)
            column, header = "systemuserid", "MSCRMCallerID"
        target = self.find_user(column, wanted) if wanted else None
        if target is None:
            raise DataverseError(400, NOT_FOUND, f"No systemuser with {column} = "
                                 f"'{object_id or system_user_id}' ({header} header) exists in "
                                 "this organization.")
        if target.get("isdisabled"):
            raise DataverseError(403, USER_DISABLED, f"The user with SystemUserId="
                                 f"{target['systemuserid']} is disabled. A disabled user cannot "
                                 "be impersonated.")
        return caller.acting_as(target)

    def find_user(self, column: str, value: str) -> dict | None:
        if column == "systemuserid":
            row = self.store.get_row("systemuser", value)
            return row.body if row else None
        rows, _ = self.store.page("systemuser", where=f"json_extract(body, '$.{column}') = ?",
                                  params=[value], order=[("id", False)], after=None, limit=1)
        return rows[0].body if rows else None

    def require_read(self, caller: Caller, table: Table) -> None:
        self.security.require(caller.effective_id, "read", table.logical_name)
        if self.faults.denied(caller.effective.get("internalemailaddress"), table.logical_name):
            raise privilege_denied(caller.effective_id, "read", table.logical_name)

    # -- routing -------------------------------------------------------------------------------

    def _dispatch(self, request: Request, caller: Caller) -> Response:
        relative = request.path[len(API_PREFIX):] if request.path.startswith(API_PREFIX) else None
        if relative is None:
            if request.path.rstrip("/") == API_PREFIX.rstrip("/"):
                relative = ""
            else:
                raise segment_not_found(request.path)
        method = request.method
        if relative == "":
            self._only(method, "GET")
            return self.service_document(request)
        if relative == "$metadata":
            self._only(method, "GET")
            return Response(200, self.metadata.csdl(), [("Content-Type", "application/xml")])
        if relative == "$batch":
            self._only(method, "POST")
            return run_batch(self, request, caller)
        if relative in ("WhoAmI", "WhoAmI()"):
            if method != "GET":  # a function: any other method finds no resource (client errors)
                raise DataverseError(404, NO_HTTP_RESOURCE, "No HTTP resource was found that "
                                     f"matches the request URI '{request.url}'.")
            return self.whoami(request, caller)
        if relative.startswith(("EntityDefinitions", "GlobalOptionSetDefinitions")):
            self._only(method, "GET")
            return self.metadata.handle(request, relative)
        match = _ENTITY_PATH.match(relative)
        table = self.catalog.by_set(match.group("set")) if match else None
        if table is None:
            segment = match.group("set") if match else relative
            raise segment_not_found(segment)
        key, rest = match.group("key"), match.group("rest")
        if key is None:
            if rest == "$count":
                self._only(method, "GET")
                return self.count(request, caller, table)
            message = bulk_message(rest)
            if message is not None:
                return self.bulk.handle(request, caller, table, message)
            if rest is not None:
                raise segment_not_found(rest)
            if method == "GET":
                return self.read_collection(request, caller, table)
            if method == "POST":
                return self.writer.create(request, caller, table)
            raise _method_not_allowed(method)
        row_id = parse_guid(key)
        if row_id is None:
            raise DataverseError(400, QUERY_ERROR, f"The key '{key}' is not a valid Guid. "
                                 "Alternate keys are not supported by the emulator.")
        if rest is not None:
            if table.logical_name == "systemuser" and privileges.is_call(rest):
                self._only(method, "GET")
                return privileges.retrieve_user_privileges(request, self, caller, row_id)
            return self.writer.property(request, caller, table, row_id, rest)
        if method == "GET":
            return self.read_row(request, caller, table, row_id)
        if method == "PATCH":
            return self.writer.upsert(request, caller, table, row_id)
        if method == "DELETE":
            return self.writer.delete(request, caller, table, row_id)
        raise _method_not_allowed(method)

    @staticmethod
    def _only(method: str, allowed: str) -> None:
        if method != allowed:
            raise _method_not_allowed(method)

    # -- small endpoints -----------------------------------------------------------------------

    def service_document(self, request: Request) -> Response:
        sets = [{"name": t.entity_set, "kind": "EntitySet", "url": t.entity_set}
                for t in self.catalog.tables()]
        return json_response(200, {"@odata.context": f"{request.base_url}/api/data/v9.2/$metadata",
                                   "value": sets})

    def whoami(self, request: Request, caller: Caller) -> Response:
        return json_response(200, {
            "@odata.context": f"{request.base_url}/api/data/v9.2/$metadata#"
                              "Microsoft.Dynamics.CRM.WhoAmIResponse",
            "BusinessUnitId": self.org["business_unit_id"],
            "UserId": caller.effective_id,
            "OrganizationId": self.org["organization_id"],
        })

    def count(self, request: Request, caller: Caller, table: Table) -> Response:
        self.require_read(caller, table)
        where, params = self._where(request.query, table)
        total = self.store.count(table.logical_name, where=where, params=params)
        return Response(200, str(min(total, COUNT_LIMIT)).encode(),
                        [("Content-Type", "text/plain")])

    # -- reads ---------------------------------------------------------------------------------

    def _where(self, query: dict, table: Table) -> tuple[str, list]:
        if "$filter" not in query:
            return "", []
        return odata.filter_to_sql(odata.parse_filter(query["$filter"]), table)

    def shaper(self, table: Table, query: dict, prefer: Prefer, caller: Caller) -> Shaper:
        select = odata.parse_select(query.get("$select"), table)
        expands = odata.parse_expand(query.get("$expand"), table)
        nested = {}
        for expand in expands:
            if expand.collection:
                continue
            target = self.catalog.by_name(expand.target)
            if target is None:
                raise QueryError(f"The navigation property '{expand.name}' targets "
                                 f"'{expand.target}', which cannot be expanded.")
            self.require_read(caller, target)
            nested[expand.name] = odata.parse_select(expand.select, target)
        return Shaper(store=self.store, table=table, select=select, expands=expands,
                      prefer=prefer, org_name=self.org["org_name"], nested_selects=nested)

    def context_url(self, request: Request, table: Table, query: dict, suffix: str = "") -> str:
        parts = [p.strip() for p in (query.get("$select") or "").split(",") if p.strip()]
        parts += [item.replace("$select=", "")
                  for item in odata.split_top_level(query.get("$expand") or "", ",")]
        columns = f"({','.join(parts)})" if parts else ""
        return f"{request.base_url}/api/data/v9.2/$metadata#{table.entity_set}{columns}{suffix}"

    def read_row(self, request: Request, caller: Caller, table: Table, row_id: str) -> Response:
        self.require_read(caller, table)
        self._check_options(request.query)
        prefer = Prefer.parse(request.header_values("prefer"))
        shaper = self.shaper(table, request.query, prefer, caller)
        row = self.store.get_row(table.logical_name, row_id)
        if row is None:
            raise not_found_row(table, row_id)
        etag = f'W/"{row.version}"'
        conditional = request.header("if-none-match") == etag
        if conditional and not shaper.expands and not prefer.annotations:
            return Response(304, headers=[("ETag", etag)])
        item = shaper.shape([row])[0]
        context = self.context_url(request, table, request.query, "/$entity")
        return json_response(200, {"@odata.context": context, **item},
                             [("ETag", etag), *_annotations_applied(prefer)])

    def _check_options(self, query: dict) -> None:
        """Refuse what Dataverse refuses ($skip, $search, $format: "Unsupported OData query
        options", query/overview), and say so when Dataverse would accept what the emulator
        does not model ($apply, FetchXML, saved queries, parameter aliases)."""
        for name in query:
            if name in _UNSUPPORTED_BY_DATAVERSE or (
                    name.startswith("$") and name not in _KNOWN_OPTIONS | _NOT_EMULATED):
                raise QueryError(f"The query parameter {name} is not supported.")
            if name in _NOT_EMULATED or name.startswith("@"):
                raise QueryError(f"The query parameter {name} is not supported by the emulator.")

    def read_collection(self, request: Request, caller: Caller, table: Table) -> Response:
        self.require_read(caller, table)
        query = request.query
        self._check_options(query)
        prefer = Prefer.parse(request.header_values("prefer"))
        if "$deltatoken" in query or prefer.track_changes or (
                "$skiptoken" in query and "istracking=\"True\"" in query["$skiptoken"]):
            return self._read_tracked(request, caller, table, prefer)
        shaper = self.shaper(table, query, prefer, caller)
        where, params = self._where(query, table)
        order = _order_sql(table, odata.parse_orderby(query.get("$orderby"), table))

        top = None
        if "$top" in query:
            try:
                top = int(query["$top"])
            except ValueError as error:
                raise QueryError(f"Invalid value '{query['$top']}' for $top.") from error
            if top < 0:
                raise QueryError("The $top query option must be a non-negative integer.")
        if prefer.max_page_size is not None:
            page_size, top = prefer.max_page_size, None  # documented: $top is ignored
        elif top is not None:
            page_size = min(top, MAX_PAGE_SIZE)
        else:
            page_size = MAX_PAGE_SIZE

        state = odata.decode_skiptoken(query["$skiptoken"]) if "$skiptoken" in query \
            else odata.PageState(page=1)
        after = state.key if state.key is not None else (
            [state.last_id] if state.last_id else None)
        if after is not None and len(after) != len(order):
            raise QueryError("The $skiptoken does not belong to this query.")
        rows, keys = self.store.page(table.logical_name, where=where, params=params, order=order,
                                     after=after, limit=page_size + 1,
                                     projection=shaper.projection())
        more = len(rows) > page_size and top is None
        rows, keys = rows[:page_size], keys[:page_size]

        body = {"@odata.context": self.context_url(request, table, query)}
        if query.get("$count", "").lower() == "true" or prefer.wants(odata.TOTAL_COUNT):
            counted = query.get("$count", "").lower() == "true"
            total = self.store.count(table.logical_name, where=where, params=params) \
                if counted else -1
            if counted:
                body["@odata.count"] = min(total, COUNT_LIMIT)
            if prefer.wants(odata.TOTAL_COUNT):
                body[f"@{odata.TOTAL_COUNT}"] = min(total, COUNT_LIMIT)
            if prefer.wants(odata.TOTAL_COUNT_EXCEEDED):
                body[f"@{odata.TOTAL_COUNT_EXCEEDED}"] = total > COUNT_LIMIT
        tail = {}
        if more and rows:
            next_state = odata.PageState(page=state.page + 1, last_id=rows[-1].id,
                                         first_id=rows[0].id,
                                         key=keys[-1] if len(order) > 1 else None)
            tail["@odata.nextLink"] = self._next_link(request, table, next_state)
        return Response(200, json_page(body, shaper.shape(rows), tail),
                        [("Content-Type", "application/json; odata.metadata=minimal"),
                         *_page_size_applied(prefer), *_annotations_applied(prefer)])

    def _next_link(self, request: Request, table: Table, state: odata.PageState) -> str:
        cookie = odata.encode_skiptoken(state, table.primary_id)
        parts = [part for part in request.query_string.split("&")
                 if part and urllib.parse.unquote(part.partition("=")[0]) != "$skiptoken"]
        parts.append("$skiptoken=" + urllib.parse.quote(cookie, safe=""))
        return f"{request.base_url}{request.path}?{'&'.join(parts)}"

    # -- change tracking -----------------------------------------------------------------------

    def _read_tracked(self, request: Request, caller: Caller, table: Table,
                      prefer: Prefer) -> Response:
        query = request.query
        for option in _TRACKING_REJECTS:
            if option in query:
                raise DataverseError(400, QUERY_ERROR, f'The "{option}" query parameter isn\'t '
                                     "supported when Change Tracking is enabled.")
        if not self.catalog.tracks_changes(table):
            raise DataverseError(400, CHANGE_TRACKING_NOT_ENABLED, f"Entity {table.logical_name} "
                                 "isn't enabled for change tracking.")
        shaper = self.shaper(table, query, prefer, caller)
        page_size = prefer.max_page_size or MAX_PAGE_SIZE
        state = odata.decode_skiptoken(query["$skiptoken"]) if "$skiptoken" in query else None
        delta = "$deltatoken" in query
        if delta:
            since = self._check_delta_token(table, query["$deltatoken"])
        if state is None or state.tracking is None:
            until = self.store.current_version()
            state = odata.PageState(page=1, tracking={
                "since": since if delta else 0, "until": until,
                "phase": "rows" if delta else "initial", "after": 0})
        tracking = state.tracking

        values: list[dict | str] = []
        next_tracking = None
        projection = shaper.projection()
        if tracking["phase"] == "initial":
            after = [state.last_id] if state.last_id else None
            rows, _ = self.store.page(table.logical_name, where="", params=[],
                                      order=[("id", False)], after=after, limit=page_size + 1,
                                      projection=projection)
            if len(rows) > page_size:
                rows = rows[:page_size]
                next_tracking = dict(tracking)
            values = shaper.shape(rows)
            last_id = rows[-1].id if rows else None
        else:
            last_id = None
            if tracking["phase"] == "rows":
                rows = self.store.changed_rows(table.logical_name, tracking["since"],
                                               tracking["until"], tracking["after"], page_size + 1,
                                               projection)
                if len(rows) > page_size:
                    rows = rows[:page_size]
                    next_tracking = dict(tracking, after=rows[-1].version)
                values = shaper.shape(rows)
                tomb_after = 0
            else:
                tomb_after = tracking["after"]
            room = page_size - len(values)
            if next_tracking is None:
                # Deletions follow the changed rows; with no room left on this page, one probe
                # tells whether another page is needed for them.
                deleted = self.store.deleted_rows(table.logical_name, tracking["since"],
                                                  tracking["until"], tomb_after, room + 1)
                if len(deleted) > room:
                    deleted = deleted[:room]
                    last = deleted[-1][1] if deleted else tomb_after
                    next_tracking = dict(tracking, phase="deleted", after=last)
                deleted_context = (f"{request.base_url}/api/data/v9.2/$metadata#"
                                   f"{table.entity_set}/$deletedEntity")
                values += [{"@odata.context": deleted_context, "id": row_id, "reason": "deleted"}
                           for row_id, _ in deleted]

        suffix = "/$delta" if delta else ""
        head = {"@odata.context": self.context_url(request, table, query, suffix)}
        if next_tracking is not None:
            next_state = odata.PageState(page=state.page + 1, tracking=next_tracking,
                                         last_id=last_id, first_id=last_id)
            tail = {"@odata.nextLink": self._next_link(request, table, next_state)}
        else:
            tail = {"@odata.deltaLink": self._delta_link(request, table, tracking["until"])}
        headers = [("Content-Type", "application/json; odata.metadata=minimal"),
                   ("Preference-Applied", "odata.track-changes"),
                   *_page_size_applied(prefer), *_annotations_applied(prefer)]
        return Response(200, json_page(head, values, tail), headers)

    def _check_delta_token(self, table: Table, token: str) -> int:
        found = self.store.find_delta_token(table.logical_name, token)
        expired_error = DataverseError(400, EXPIRED_VERSION_STAMP, "Version stamp associated "
                                       "with the client has expired. Please perform a full sync.")
        if found is None:
            raise expired_error
        version, issued_at, expired = found
        if expired or time.time() - issued_at > DELTA_TOKEN_DAYS * 86_400:
            raise expired_error
        return version

    def _delta_link(self, request: Request, table: Table, version: int) -> str:
        token = odata.make_delta_token(version, dt.datetime.now(dt.UTC))
        self.store.save_delta_token(table.logical_name, token, version)
        parts = []
        if "$select" in request.query:
            parts.append("$select=" + urllib.parse.quote(request.query["$select"], safe=",_"))
        parts.append("$deltatoken=" + urllib.parse.quote(token, safe=""))
        return f"{request.base_url}/api/data/v9.2/{table.entity_set}?{'&'.join(parts)}"


def _same_resource(resource: str, base_url: str) -> bool:
    """Whether a token's audience is this org. 127.0.0.1 and localhost are the same host."""
    wanted, actual = urllib.parse.urlsplit(resource), urllib.parse.urlsplit(base_url)
    local = {"127.0.0.1", "localhost"}
    same_host = wanted.hostname == actual.hostname or (
        wanted.hostname in local and actual.hostname in local)
    return same_host and wanted.port == actual.port


def _order_sql(table: Table, order: list) -> list[tuple[str, bool]]:
    """Keyset sort expressions: for each column a null flag and a null-free value, then the key.

    Nulls sort first ascending and last descending, as in SQL Server.
    """
    expressions = []
    for attribute, descending in order:
        column = odata.column_sql(table, attribute)
        collate = " COLLATE NOCASE" if attribute.type in ("String", "Memo") else ""
        expressions.append((f"({column} IS NOT NULL)", descending))
        expressions.append((f"ifnull({column}, 0){collate}", descending))
    expressions.append(("id", False))
    return expressions


def _page_size_applied(prefer: Prefer) -> list[tuple[str, str]]:
    if prefer.max_page_size is None:
        return []
    return [("Preference-Applied", f"odata.maxpagesize={prefer.max_page_size}")]


def _annotations_applied(prefer: Prefer) -> list[tuple[str, str]]:
    if prefer.annotations_raw is None:
        return []
    return [("Preference-Applied", f'odata.include-annotations="{prefer.annotations_raw}"')]


def _method_not_allowed(method: str) -> DataverseError:
    return DataverseError(405, NO_HTTP_RESOURCE,
                          f"The requested resource does not support http method '{method}'.")
