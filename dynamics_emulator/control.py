"""`/_emulator/`: the test and demo control endpoint (JSON, no authentication, never faulted).

It changes the org behind the client's back the way people and admins change a real org:
moving opportunities through stages, closing and reassigning them, deleting rows, removing a
privilege, uninstalling the LinkedIn solution, switching change tracking off, expiring tokens,
switching faults on and off, and changing the service protection limits. Every row change goes
through the store, so it bumps the row's version and shows up in change tracking like a change
made in Dynamics.

See README.md for the list of routes.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import urllib.parse
import uuid

from . import odata
from .currency import base_amounts_set
from .metadata import Catalog
from .schema import TABLES_BY_NAME, TABLES_BY_SET, Table
from .store import DuplicateKey
from .wire import Request, Response, json_response
from .writes import now_stamp


class Stats:
    """Requests served since start (or the last reset), by endpoint kind and status, and by
    kind and HTTP method (`by_kind_method`: a test can show that something only read)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._by_kind: dict[str, int] = {}
            self._by_status: dict[str, dict[str, int]] = {}
            self._by_method: dict[str, dict[str, int]] = {}
            self._since = dt.datetime.now(dt.UTC).isoformat()

    def record(self, kind: str, status: int | str, method: str = "") -> None:
        with self._lock:
            self._by_kind[kind] = self._by_kind.get(kind, 0) + 1
            statuses = self._by_status.setdefault(kind, {})
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if method:
                methods = self._by_method.setdefault(kind, {})
                methods[method] = methods.get(method, 0) + 1

    def snapshot(self) -> dict:
        with self._lock:
            by_status: dict[str, int] = {}
            for statuses in self._by_status.values():
                for status, count in statuses.items():
                    by_status[status] = by_status.get(status, 0) + count
            return {"since": self._since, "requests": sum(self._by_kind.values()),
                    "by_kind": dict(self._by_kind), "by_status": by_status,
                    "by_kind_status": {k: dict(v) for k, v in self._by_status.items()},
                    "by_kind_method": {k: dict(v) for k, v in self._by_method.items()}}


class ControlError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _json(status: int, value) -> Response:
    return json_response(status, value, content_type="application/json")


class Control:
    """Handles /_emulator/ requests for one emulator."""

    def __init__(self, emulator):
        self.emulator = emulator

    @property
    def store(self):
        return self.emulator.store

    @property
    def catalog(self) -> Catalog:
        return self.emulator.catalog

    def handle(self, request: Request) -> Response:
        try:
            return self._route(request)
        except ControlError as error:
            return _json(error.status, {"error": error.message})
        except odata.QueryError as error:
            return _json(400, {"error": str(error)})
        except (ValueError, KeyError) as error:
            return _json(400, {"error": str(error)})

    def _body(self, request: Request) -> dict:
        try:
            value = request.json()
        except ValueError as error:
            raise ControlError(400, f"the body is not JSON: {error}") from error
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ControlError(400, "the body must be a JSON object")
        return value

    def _route(self, request: Request) -> Response:
        parts = [urllib.parse.unquote(p) for p in request.path.split("/")[2:] if p]
        method = request.method
        route = "/".join(parts[:1])
        if route == "health" and method == "GET":
            return _json(200, {"ok": True})
        if route == "org" and method == "GET":
            return _json(200, self.emulator.describe())
        if route == "faults":
            return self._faults(request, method)
        if route == "service-protection":
            return self._protection(request, method)
        if route == "stats":
            if method == "DELETE":
                self.emulator.stats.reset()
                self.emulator.faults.reset_counts()
                return Response(204)
            return _json(200, self.emulator.stats.snapshot() |
                         {"faults_injected": self.emulator.faults.counts()})
        if route == "counts" and method == "GET":
            counts = self.store.counts()
            return _json(200, {table.entity_set: counts.get(table.logical_name, 0)
                               for table in TABLES_BY_NAME.values()})
        if route == "rows":
            return self._rows(request, method, parts[1:])
        if route == "opportunities" and method == "POST":
            return self._create(TABLES_BY_NAME["opportunity"], self._body(request))
        if route == "linkedin-solution":
            if method == "PUT":
                installed = self._body(request).get("installed")
                if not isinstance(installed, bool):
                    raise ControlError(400, "send {\"installed\": true|false}")
                self.catalog.set_linkedin_installed(installed)
            return _json(200, {"installed": self.catalog.linkedin_installed})
        if route == "users":
            return self._users(request, method, parts[1:])
        if route == "change-tracking" and len(parts) == 2:
            table = self._table(parts[1])
            if method == "PUT":
                enabled = self._body(request).get("enabled")
                if not isinstance(enabled, bool):
                    raise ControlError(400, "send {\"enabled\": true|false}")
                self.catalog.set_change_tracking(table.logical_name, enabled)
            return _json(200, {"logical_name": table.logical_name,
                               "enabled": self.catalog.tracks_changes(table)})
        if route == "options" and len(parts) == 3:
            return self._options(request, method, parts[1], parts[2])
        if route == "tokens":
            return self._tokens(request, method, parts[1:])
        if route == "apps" and method == "POST":
            return _json(201, self.emulator.register_app(self._body(request)))
        if route == "reset" and method == "POST":
            return _json(200, self.emulator.reset())
        raise ControlError(404, f"no control route {method} {request.path}")

    # -- faults --------------------------------------------------------------------------------

    def _faults(self, request: Request, method: str) -> Response:
        faults = self.emulator.faults
        if method in ("PUT", "PATCH"):
            expire = faults.update(self._body(request), replace=method == "PUT")
            if expire:
                self.store.expire_delta_tokens()
        elif method == "DELETE":
            faults.reset()
        elif method != "GET":
            raise ControlError(405, "use GET, PUT, PATCH or DELETE")
        return _json(200, faults.settings)

    # -- service protection --------------------------------------------------------------------

    def _protection(self, request: Request, method: str) -> Response:
        """Limits and per-user windows: GET reads, PUT replaces, PATCH merges, DELETE resets."""
        protection = self.emulator.protection
        if method in ("PUT", "PATCH"):
            protection.update(self._body(request), replace=method == "PUT")
        elif method == "DELETE":
            protection.reset()
        elif method != "GET":
            raise ControlError(405, "use GET, PUT, PATCH or DELETE")
        return _json(200, protection.snapshot())

    # -- rows ----------------------------------------------------------------------------------

    def _table(self, name: str) -> Table:
        """A table by entity set name ('opportunities') or logical name ('opportunity')."""
        table = TABLES_BY_SET.get(name) or TABLES_BY_NAME.get(name)
        if table is None:
            raise ControlError(404, f"no table {name!r}; use an entity set name like "
                                    "'opportunities'")
        return table

    def _rows(self, request: Request, method: str, rest: list[str]) -> Response:
        if not rest:
            raise ControlError(404, "use /_emulator/rows/<entityset>[/<id>]")
        table = self._table(rest[0])
        if len(rest) == 1:
            if method == "GET":
                return self._list(request, table)
            if method == "POST":
                return self._create(table, self._body(request))
            raise ControlError(405, "use GET or POST")
        row_id = rest[1].strip("{}()").lower()
        if method == "GET":
            row = self.store.get_row(table.logical_name, row_id)
            if row is None:
                raise ControlError(404, f"no {table.logical_name} {row_id}")
            return _json(200, _raw(row))
        if method == "PATCH":
            return self._patch(table, row_id, self._body(request))
        if method == "DELETE":
            with self.store.write():
                gone = self.store.delete_row(table.logical_name, row_id)
            if not gone:
                raise ControlError(404, f"no {table.logical_name} {row_id}")
            return Response(204)
        raise ControlError(405, "use GET, PATCH or DELETE")

    def _list(self, request: Request, table: Table) -> Response:
        query = request.query
        where, params = "", []
        text = query.get("filter") or query.get("$filter")
        if text:
            where, params = odata.filter_to_sql(odata.parse_filter(text), table)
        top = int(query.get("top", 5000))
        rows, _ = self.store.page(table.logical_name, where=where, params=params,
                                  order=[("id", False)], after=None, limit=top)
        return _json(200, {"count": len(rows), "value": [_raw(row) for row in rows]})

    def _check_fields(self, table: Table, fields: dict) -> None:
        for key in fields:
            name = key.split("@")[0]
            if name not in table.by_wire and not key.startswith("__"):
                raise ControlError(400, f"{table.logical_name} has no column {key!r} (use read "
                                        "names such as '_ownerid_value')")

    def _create(self, table: Table, fields: dict) -> Response:
        self._check_fields(table, fields)
        org = self.emulator.org
        row_id = str(fields.get(table.primary_id) or uuid.uuid4()).lower()
        now = now_stamp()
        body: dict = {table.primary_id: row_id, "createdon": now, "modifiedon": now}
        if "statecode" in table.by_name:
            body["statecode"], body["statuscode"] = 0, table.default_status(0)
        if "ownerid" in table.by_name:
            body["_ownerid_value"] = org["integration_user_id"]
        body["_createdby_value"] = body["_modifiedby_value"] = org["integration_user_id"]
        if table.is_activity:
            body["activitytypecode"] = table.logical_name
        if table.logical_name == "opportunity":
            body.update(name="New opportunity", salesstage=0, salesstagecode=1,
                        stepname="1-Qualify", estimatedvalue=None,
                        _transactioncurrencyid_value=org["currency_id"])
        body.update(fields)
        self._consistent(table, body, {}, fields)
        with self.store.write():
            try:
                self.store.insert_row(table.logical_name, row_id, body)
            except DuplicateKey as error:
                raise ControlError(409, f"{table.logical_name} {row_id} already exists") from error
        return _json(201, _raw(self.store.get_row(table.logical_name, row_id)))

    def _patch(self, table: Table, row_id: str, fields: dict) -> Response:
        self._check_fields(table, fields)
        with self.store.write():
            row = self.store.get_row(table.logical_name, row_id)
            if row is None:
                raise ControlError(404, f"no {table.logical_name} {row_id}")
            before = dict(row.body)
            body = dict(row.body) | fields
            body["modifiedon"] = now_stamp()
            self._consistent(table, body, before, fields)
            self.store.update_row(table.logical_name, row_id, body)
        return _json(200, _raw(self.store.get_row(table.logical_name, row_id)))

    def _consistent(self, table: Table, body: dict, before: dict, fields: dict) -> None:
        """Derived columns a change in Dynamics would update too."""
        self._consistent_columns(table, body, before, fields)
        base_amounts_set(self.store, table, body, base_currency_id=self.emulator.org["currency_id"])

    def _consistent_columns(self, table: Table, body: dict, before: dict, fields: dict) -> None:
        if "statecode" in fields and "statuscode" not in fields:
            body["statuscode"] = table.default_status(body["statecode"])
        if table.logical_name in ("contact", "lead", "systemuser") and (
                "firstname" in fields or "lastname" in fields):
            body["fullname"] = " ".join(p for p in (body.get("firstname"),
                                                    body.get("lastname")) if p)
        if table.logical_name != "opportunity":
            return
        stage = body.get("salesstage")
        if "salesstage" in fields and "stepname" not in fields and type(stage) is int:
            # Only a numeric stage has a step name; anything else is bad data a test stores on
            # purpose, kept as sent.
            stages = self.catalog.attribute(table, table.by_name["salesstage"])
            body["stepname"] = f"{stage + 1}-{stages.option_label(stage) or ''}"
        state, previous = body.get("statecode"), before.get("statecode")
        if state != previous and state in (1, 2):
            body.setdefault("actualclosedate", None)
            if not fields.get("actualclosedate"):
                body["actualclosedate"] = dt.date.today().isoformat()
            if state == 1 and body.get("actualvalue") is None:
                # "Actual Revenue ... defaults to Est. Revenue value when an opportunity is won"
                body["actualvalue"] = body.get("estimatedvalue")
        if state == 0 and previous in (1, 2) and "actualclosedate" not in fields:
            body["actualclosedate"] = None
        if "_parentaccountid_value" in fields and "_customerid_value" not in fields \
                and not before:
            body["_customerid_value"] = body["_parentaccountid_value"]
            body["_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] = "account"

    # -- option sets ---------------------------------------------------------------------------

    def _options(self, request: Request, method: str, logical_name: str,
                 column: str) -> Response:
        """A choice column's options: PUT replaces them (an admin customizing the option set),
        DELETE restores the seeded ones."""
        table = self._table(logical_name)
        attribute = table.by_name.get(column)
        if attribute is None:
            raise ControlError(404, f"{table.logical_name} has no column {column}")
        if method == "PUT":
            options = self._body(request).get("options")
            if not isinstance(options, list):
                raise ControlError(400, 'send {"options": [{"value": 0, "label": "..."}, ...]}')
            self.catalog.set_options(table, attribute, options)
        elif method == "DELETE":
            self.catalog.set_options(table, attribute, None)
        elif method != "GET":
            raise ControlError(405, f"{method} is not allowed on options")
        return _json(200, {"logical_name": table.logical_name, "column": attribute.name,
                           "options": self.catalog.options(table, attribute)})

    # -- users and privileges ------------------------------------------------------------------

    def _user_by_email(self, email: str) -> dict:
        user = self.emulator.webapi.find_user("internalemailaddress", email.lower())
        if user is None:
            raise ControlError(404, f"no system user with email {email!r}")
        return user

    def _users(self, request: Request, method: str, rest: list[str]) -> Response:
        security = self.emulator.security
        if not rest and method == "GET":
            rows, _ = self.store.page("systemuser", where="", params=[], order=[("id", False)],
                                      after=None, limit=100_000)
            roles = self.emulator.org["roles"]
            return _json(200, {"value": [
                {"systemuserid": row.id, "fullname": row.body.get("fullname"),
                 "email": row.body.get("internalemailaddress"),
                 "azureactivedirectoryobjectid": row.body.get("azureactivedirectoryobjectid"),
                 "isdisabled": row.body.get("isdisabled"),
                 "application_user": row.body.get("applicationid") is not None,
                 "role": roles.get(row.id), "privileges": security.privileges(row.id)}
                for row in rows]})
        if len(rest) == 2 and rest[1] == "privileges":
            user = self._user_by_email(rest[0])
            if method == "PUT":
                try:
                    result = security.update(user["systemuserid"], self._body(request))
                except ValueError as error:
                    raise ControlError(400, str(error)) from error
                return _json(200, result)
            if method == "GET":
                return _json(200, security.privileges(user["systemuserid"]))
        raise ControlError(404, "use /_emulator/users or /_emulator/users/<email>/privileges")

    # -- tokens --------------------------------------------------------------------------------

    def _tokens(self, request: Request, method: str, rest: list[str]) -> Response:
        if rest == ["expire"] and method == "POST":
            body = self._body(request)
            expired = self.store.expire_access_tokens(time.time())
            revoked = self.store.revoke_refresh_tokens() if body.get("refresh") else 0
            return _json(200, {"expired_access_tokens": expired,
                               "revoked_refresh_tokens": revoked})
        if not rest and method == "POST":
            body = self._body(request)
            email = body.get("email") or self.emulator.org["integration_email"]
            user = self._user_by_email(email)
            client_id = body.get("client_id") or self.emulator.org["client_id"]
            lifetime = body.get("lifetime")
            token, seconds = self.emulator.identity.issue_access_token(
                user["systemuserid"], client_id, request.base_url,
                int(lifetime) if lifetime is not None else None)
            return _json(200, {"access_token": token, "token_type": "Bearer",
                               "expires_in": seconds, "systemuserid": user["systemuserid"]})
        raise ControlError(404, "use POST /_emulator/tokens or POST /_emulator/tokens/expire")


def _raw(row) -> dict:
    """A stored row as the control endpoint shows it: every stored key, plus the version."""
    body = dict(row.body)
    body["@odata.etag"] = f'W/"{row.version}"'
    body["versionnumber"] = row.version
    return body

