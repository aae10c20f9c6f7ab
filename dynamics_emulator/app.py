"""The emulator as one object: storage, org, identity provider, Web API, control endpoint, faults.

`Emulator.handle(request)` is the single entry point the HTTP server calls. It classifies the
path (Web API, token endpoint, sign-in page, discovery, control), applies faults where they
apply, dispatches, and turns any unexpected exception into a Dataverse-style 500 so that a client
never sees a stack trace.
"""

from __future__ import annotations

import sys
import time
import traceback
import uuid

import demodata

from .control import Control, Stats
from .faults import Faults, malformed_body
from .identity import Identity, identity_path
from .metadata import Catalog
from .protection import ServiceProtection
from .record_page import record_page
from .schema import TABLES_BY_NAME
from .security import Security
from .store import Store
from .webapi import WebApi
from .wire import (
    THROTTLED_REQUESTS,
    UNEXPECTED,
    DataverseError,
    Request,
    Response,
    drop,
    json_response,
)


def _log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def seed_store(store: Store, size: str, seed: int) -> dict:
    """Fill an empty store with the generated org of this size; returns the org description."""
    started = time.monotonic()
    org = demodata.generate_org(size, seed)
    integration = org.users[0]
    app_user = next(u for u in org.users if u["applicationid"])
    info = {
        "size": size,
        "seed": seed,
        "tenant_id": org.tenant_id,
        "organization_id": org.organization_id,
        "business_unit_id": org.business_unit_id,
        "currency_id": org.currency_id,
        "org_name": org.org_name,
        "unique_name": org.unique_name,
        "email_domain": org.email_domain,
        "integration_user_id": integration["systemuserid"],
        "integration_email": integration["internalemailaddress"],
        "app_user_id": app_user["systemuserid"],
        "client_id": org.app.client_id,
        "client_secret": org.app.client_secret,
        "roles": org.user_roles,
    }
    tables = ((name, TABLES_BY_NAME[name].primary_id, rows) for name, rows in org.tables())
    info["rows"] = store.seed(tables, info)
    info["seconds"] = round(time.monotonic() - started, 2)
    store.set_meta("org", info)
    store.save_app(org.app.client_id, {
        "client_id": org.app.client_id, "client_secret": org.app.client_secret,
        "name": org.app.name, "redirect_uris": [], "user_id": app_user["systemuserid"],
    })
    return info


class Emulator:
    """One emulated Dynamics 365 org behind one or two HTTP listeners."""

    def __init__(self, *, data_path: str, size: str | None = None, seed: int = 42,
                 token_lifetime: int = 3600, protection: dict | None = None,
                 faults: dict | None = None, fault_seed: int | str = 0,
                 browser_url: str | None = None, log=None):
        self.data_path = data_path
        self.log = log or _log
        self.store = Store(data_path)
        if not self.store.is_seeded():
            size = size or "demo"
            self.log(f"seeding a {size} org (seed {seed}) into {data_path} ...")
            info = seed_store(self.store, size, seed)
            self.log(f"seeded {info['rows']} rows in {info['seconds']} s")
        self.org = self.store.get_meta("org")
        if size and (size != self.org["size"] or seed != self.org["seed"]):
            self.log(f"note: {data_path} already holds a {self.org['size']} org (seed "
                     f"{self.org['seed']}); using it as is")
        self.faults = Faults(seed=fault_seed)
        if faults and self.faults.update(faults):
            self.store.expire_delta_tokens()  # tokens kept in the data file from earlier runs
        self.stats = Stats()
        self.catalog = Catalog(self.store, self.faults)
        self.security = Security(self.store, self.org["roles"])
        # Dataverse's limits unless told otherwise (`protection` is a settings document).
        self.protection = ServiceProtection(protection)
        self.identity = Identity(store=self.store, org=self.org, token_lifetime=token_lifetime,
                                 browser_url=browser_url)
        self.webapi = WebApi(store=self.store, catalog=self.catalog, security=self.security,
                             faults=self.faults, org=self.org, protection=self.protection)
        self.control = Control(self)

    # -- the entry point -----------------------------------------------------------------------

    @staticmethod
    def classify(path: str) -> str:
        if path == "/_emulator" or path.startswith("/_emulator/"):
            return "control"
        if path.startswith("/api/"):
            return "api"
        match = identity_path(path)
        if match:
            rest = match.group("rest")
            if rest.endswith("token"):
                return "token"
            if rest.endswith(("authorize", "logout")):
                return "authorize"
            return "discovery"
        return "other"

    def handle(self, request: Request, listener: str = "main") -> Response:
        """Answer one request. `listener` is "browser" for the plain-http listener that serves
        only what a browser opens: the sign-in pages and the record pages (`/main.aspx`)."""
        kind = self.classify(request.path)
        if request.path == "/favicon.ico":
            # Browsers ask every origin for one; answering 404 shows up as a console error.
            return Response(204, b"", [])
        if listener == "browser" and kind != "authorize" and request.path != "/main.aspx":
            response = json_response(404, {"error": "This listener only serves the sign-in "
                                           "and record pages; use the main URL for everything "
                                           "else."})
        else:
            try:
                response = self._handle(request, kind)
            except Exception:  # noqa: BLE001 - a bug must not reach the client as a traceback
                self.log("unexpected error answering "
                         f"{request.method} {request.path}:\n{traceback.format_exc()}")
                response = DataverseError(500, UNEXPECTED, "An unexpected error occurred.") \
                    .response()
        self.stats.record(kind, "dropped" if response.drop else response.status,
                          method=request.method)
        return response

    def _handle(self, request: Request, kind: str) -> Response:
        if kind == "control":
            return self.control.handle(request)
        if kind == "authorize" or kind == "discovery":
            return self.identity.handle(request)
        if kind == "other":
            return self._other(request)
        fate, latency = self.faults.before(kind)
        if latency:
            time.sleep(latency)
        if fate == "drop":
            return drop()
        if fate == "error":
            return self._injected_error(kind)
        if fate == "throttle":
            return self._injected_throttle(kind)
        response = self.webapi.handle(request) if kind == "api" else self.identity.handle(request)
        after = self.faults.after(kind, request.method)
        if after == "drop" and response.status < 400:
            return drop()
        if after == "malformed" and response.status == 200:
            is_collection = b'"value":[' in response.body
            body, content_type = malformed_body(self.faults.malformed_kind(is_collection),
                                                response.body)
            headers = [(k, v) for k, v in response.headers if k.lower() != "content-type"]
            return Response(200, body, [("Content-Type", content_type), *headers])
        return response

    def _injected_error(self, kind: str) -> Response:
        status = self.faults.error_status()
        retry = [("Retry-After", str(self.faults.retry_after()))] if status == 503 else []
        if kind == "token":
            return json_response(status, {"error": "temporarily_unavailable",
                                          "error_description": "AADSTS90033: A transient error "
                                          "has occurred. Please try again."}, retry,
                                 content_type="application/json")
        if status == 503:
            return DataverseError(503, "", "The service is temporarily unavailable. Please "
                                  "retry later.", retry).response()
        return DataverseError(500, UNEXPECTED, "An unexpected error occurred.").response()

    def _injected_throttle(self, kind: str) -> Response:
        retry = [("Retry-After", str(self.faults.retry_after()))]
        if kind == "token":
            return json_response(429, {"error": "temporarily_unavailable",
                                       "error_description": "AADSTS50196: The server terminated "
                                       "an operation because it encountered a client request "
                                       "loop."}, retry, content_type="application/json")
        return DataverseError(429, THROTTLED_REQUESTS, "Number of requests exceeded the limit of "
                              "6000 over time window of 300 seconds.", retry).response()

    def _other(self, request: Request) -> Response:
        if request.path == "/main.aspx":
            return record_page(catalog=self.catalog, store=self.store, query=request.query)
        if request.path in ("/", ""):
            return json_response(200, self.describe(request.base_url),
                                 content_type="application/json")
        return json_response(404, {"error": f"Nothing here: {request.path}. The Web API is under "
                                   "/api/data/v9.2/, the control endpoint under /_emulator/."},
                             content_type="application/json")

    # -- control helpers -----------------------------------------------------------------------

    def describe(self, base_url: str | None = None) -> dict:
        org = self.org
        description = {
            "emulator": "Dynamics 365 / Dataverse",
            "org_name": org["org_name"], "size": org["size"], "seed": org["seed"],
            "tenant": org["tenant_id"], "organization_id": org["organization_id"],
            "business_unit_id": org["business_unit_id"],
            "client_id": org["client_id"], "client_secret": org["client_secret"],
            "integration_user_id": org["integration_user_id"],
            "app_user_id": org["app_user_id"],
            "linkedin_solution_installed": self.catalog.linkedin_installed,
        }
        if base_url:
            description["api_url"] = f"{base_url}/api/data/v9.2/"
            description["authority"] = f"{base_url}/{org['tenant_id']}"
        return description

    def register_app(self, body: dict) -> dict:
        client_id = body.get("client_id") or str(uuid.uuid4())
        secret = body.get("client_secret")
        uris = body.get("redirect_uris", [])
        if not isinstance(secret, str) or not secret:
            raise ValueError("client_secret is required")
        if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
            raise ValueError("redirect_uris must be a list of URLs")
        user_id = body.get("user_id")
        if user_id is None:
            # A new application user with the integration role, like an admin would create.
            name = body.get("name") or f"Application {client_id}"
            user_id = str(uuid.uuid4())
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            with self.store.write():
                self.store.insert_row("systemuser", user_id, {
                    "systemuserid": user_id, "fullname": name, "firstname": "", "lastname": name,
                    "internalemailaddress": f"{client_id}@{self.org['email_domain']}".lower(),
                    "domainname": f"{client_id}@{self.org['email_domain']}".lower(),
                    "azureactivedirectoryobjectid": str(uuid.uuid4()), "isdisabled": False,
                    "applicationid": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
                    "accessmode": 4, "title": "Application user",
                    "_businessunitid_value": self.org["business_unit_id"],
                    "createdon": now, "modifiedon": now,
                })
            self.security.update(user_id, body.get("privileges") or
                                 {"read": ["*"], "create": ["*"], "write": ["*"],
                                  "delete": ["*"], "delegate": True})
        app = {"client_id": client_id, "client_secret": secret,
               "name": body.get("name") or client_id, "redirect_uris": uris, "user_id": user_id}
        self.store.save_app(client_id, app)
        return app

    def reset(self) -> dict:
        """Back to the freshly seeded org: rows, privileges, solution, change tracking, faults,
        service protection (its start-up limits, empty windows) and stats. Tokens and registered
        apps survive, so signed-in clients stay signed in."""
        started = time.monotonic()
        self.store.clear_org()
        info = seed_store(self.store, self.org["size"], self.org["seed"])
        self.org.update(info)
        self.security.reset(info["roles"])
        self.catalog.reset()
        self.faults.reset()
        self.faults.reset_counts()
        self.protection.reset()
        self.stats.reset()
        return {"reset": True, "rows": info["rows"],
                "seconds": round(time.monotonic() - started, 2)}
