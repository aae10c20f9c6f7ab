"""A small Entra ID (Azure AD v2.0) stand-in that msal talks to.

Endpoints under `/{tenant}/`:

- `v2.0/.well-known/openid-configuration`: discovery. msal needs `authorization_endpoint` and an
  https `token_endpoint`; with `--browser-port` the authorization endpoint is advertised on the
  plain-http browser listener instead (msal does not check that one's scheme).
- `oauth2/v2.0/authorize`: a sign-in page listing the org's enabled people, one button each; the
  form posts back to the same URL. Answers with `code` + `state` (query or form_post), or
  `error=access_denied` when the person cancels.
- `oauth2/v2.0/token`: `authorization_code` (client secret, redirect_uri, PKCE S256, one-time
  codes), `refresh_token` (a new refresh token each time) and `client_credentials` (the app's
  application user). Errors in Entra's JSON form with AADSTS codes.

Access tokens are opaque random strings stored with their user, client, audience (from the
`<resource>/.default` scope) and expiry. id tokens are unsigned JWTs (`e30.<payload>.x`): msal
does not check signatures, only `nonce`, `aud` and `exp`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import re
import secrets
import time
import urllib.parse
import uuid

from .wire import Request, Response, json_response

CODE_LIFETIME = 600
REFRESH_LIFETIME = 90 * 86_400
_OIDC_SCOPES = {"openid", "profile", "offline_access", "email"}
_LOCAL_REDIRECT = re.compile(r"^https?://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/.*)?$")
_PATH = re.compile(r"^/(?P<tenant>[^/]+)/(?P<rest>v2\.0/\.well-known/openid-configuration|"
                   r"\.well-known/openid-configuration|oauth2/v2\.0/(?:authorize|token|logout)|"
                   r"discovery/v2\.0/keys)$")


def identity_path(path: str) -> re.Match | None:
    """Whether a path belongs to the identity provider (and which endpoint)."""
    return _PATH.match(path)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def is_local_redirect(uri: str) -> bool:
    return bool(_LOCAL_REDIRECT.match(uri or ""))


def resource_of(scope: str) -> str:
    """The API a scope string asks a token for: `https://org/.default` -> `https://org`."""
    for item in scope.split():
        if item in _OIDC_SCOPES:
            continue
        resource, _, _ = item.rstrip("/").rpartition("/")
        return (resource or item).rstrip("/")
    return ""


class Identity:
    """The identity provider of one emulated org."""

    def __init__(self, *, store, org: dict, token_lifetime: int, browser_url: str | None):
        self.store = store
        self.org = org
        self.token_lifetime = token_lifetime
        self.browser_url = browser_url

    @property
    def tenant(self) -> str:
        return self.org["tenant_id"]

    # -- helpers -------------------------------------------------------------------------------

    def _error(self, status: int, error: str, code: int, description: str,
               headers: list[tuple[str, str]] | None = None) -> Response:
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return json_response(status, {
            "error": error,
            "error_description": f"AADSTS{code}: {description} Trace ID: {trace} "
                                 f"Correlation ID: {correlation} Timestamp: {stamp}",
            "error_codes": [code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
        }, [("Cache-Control", "no-store"), *(headers or [])], content_type="application/json")

    def _known_tenant(self, tenant: str) -> bool:
        return tenant.lower() in (self.tenant.lower(), self.org["email_domain"].lower())

    def find_app(self, client_id: str) -> dict | None:
        return self.store.find_app(client_id) if client_id else None

    def redirect_allowed(self, app: dict, redirect_uri: str) -> bool:
        return redirect_uri in app.get("redirect_uris", []) or is_local_redirect(redirect_uri)

    def sign_in_users(self) -> list[dict]:
        """Enabled people (not application users), by name."""
        rows, _ = self.store.page(
            "systemuser",
            where="json_extract(body, '$.applicationid') IS NULL AND "
                  "json_extract(body, '$.isdisabled') = 0",
            params=[], order=[("json_extract(body, '$.fullname')", False), ("id", False)],
            after=None, limit=5000)
        return [row.body for row in rows]

    def user(self, user_id: str) -> dict | None:
        row = self.store.get_row("systemuser", user_id)
        return row.body if row else None

    def issue_access_token(self, user_id: str, client_id: str, resource: str,
                           lifetime: int | None = None) -> tuple[str, int]:
        lifetime = self.token_lifetime if lifetime is None else lifetime
        token = "emu." + secrets.token_urlsafe(32)
        self.store.save_access_token(token, user_id, client_id, resource, time.time() + lifetime)
        return token, lifetime

    # -- routing -------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        match = _PATH.match(request.path)
        tenant, endpoint = match.group("tenant"), match.group("rest")
        if not self._known_tenant(tenant):
            if endpoint.endswith("authorize"):
                return self._page(400, "Sign in", "<p>AADSTS90002: Tenant "
                                  f"'{html.escape(tenant)}' not found.</p>")
            return self._error(400, "invalid_tenant", 90002,
                               f"Tenant '{tenant}' not found. Check to make sure you have the "
                               "correct tenant ID and are signing into the correct cloud.")
        if endpoint.endswith("openid-configuration"):
            return self.discovery(request)
        if endpoint.endswith("keys"):
            return json_response(200, {"keys": []}, content_type="application/json")
        if endpoint.endswith("authorize"):
            return self.authorize(request)
        if endpoint.endswith("logout"):
            target = request.query.get("post_logout_redirect_uri")
            if target and is_local_redirect(target):
                return Response(302, headers=[("Location", target)])
            return self._page(200, "Signed out", "<p>You have signed out.</p>")
        if request.method != "POST":
            return self._error(405, "invalid_request", 900561,
                               "The endpoint only accepts POST requests.")
        return self.token(request)

    def discovery(self, request: Request) -> Response:
        base = f"{request.base_url}/{self.tenant}"
        browser = f"{self.browser_url}/{self.tenant}" if self.browser_url else base
        return json_response(200, {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{browser}/oauth2/v2.0/authorize",
            "end_session_endpoint": f"{browser}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "name", "oid",
                                 "preferred_username", "tid", "ver"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "emulator.local",
        }, content_type="application/json")

    # -- authorize -----------------------------------------------------------------------------

    def _page(self, status: int, title: str, content: str) -> Response:
        page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; background: #f3f2f1; margin: 0; }}
main {{ max-width: 440px; margin: 48px auto; background: #fff; padding: 32px;
       box-shadow: 0 2px 6px rgba(0,0,0,.2); }}
h1 {{ font-size: 1.4rem; font-weight: 600; }}
.user {{ display: block; width: 100%; text-align: left; padding: 10px 12px; margin: 6px 0;
        background: #fff; border: 1px solid #8a8886; cursor: pointer; font-size: 1rem; }}
.user:hover, .user.hinted {{ border-color: #0067b8; background: #f3f9fd; }}
.email {{ display: block; color: #605e5c; font-size: .85rem; }}
.cancel {{ margin-top: 16px; background: none; border: none; color: #0067b8; cursor: pointer; }}
.note {{ color: #605e5c; font-size: .8rem; margin-top: 24px; }}
</style></head>
<body><main>{content}</main></body></html>"""
        return Response(status, page.encode(), [("Content-Type", "text/html; charset=utf-8"),
                                                ("Cache-Control", "no-store")])

    def _redirect_with(self, params: dict, redirect_uri: str, response_mode: str) -> Response:
        params = {key: value for key, value in params.items() if value is not None}
        if response_mode == "form_post":
            fields = "".join(f'<input type="hidden" name="{html.escape(k)}" '
                             f'value="{html.escape(v)}">' for k, v in params.items())
            content = (f'<form method="post" action="{html.escape(redirect_uri)}" id="f">'
                       f"{fields}<noscript><button>Continue</button></noscript></form>"
                       "<script>document.getElementById('f').submit()</script>")
            return self._page(200, "Working...", content)
        separator = "&" if urllib.parse.urlsplit(redirect_uri).query else "?"
        location = redirect_uri + separator + urllib.parse.urlencode(params)
        return Response(302, headers=[("Location", location), ("Cache-Control", "no-store")])

    def authorize(self, request: Request) -> Response:
        params = dict(request.query)
        if request.method == "POST":
            form = dict(urllib.parse.parse_qsl(request.body.decode("utf-8", "replace"),
                                               keep_blank_values=True))
            params.update(form)
        elif request.method != "GET":
            return self._page(405, "Sign in", "<p>Use GET or POST.</p>")
        client_id = params.get("client_id", "")
        app = self.find_app(client_id)
        if app is None:
            return self._page(400, "Sign in", "<p>AADSTS700016: Application with identifier "
                              f"'{html.escape(client_id)}' was not found in the directory "
                              f"'{html.escape(self.org['org_name'])}'.</p>")
        redirect_uri = params.get("redirect_uri", "")
        if not self.redirect_allowed(app, redirect_uri):
            return self._page(400, "Sign in", "<p>AADSTS50011: The redirect URI "
                              f"'{html.escape(redirect_uri)}' specified in the request does not "
                              "match the redirect URIs configured for the application "
                              f"'{html.escape(client_id)}'.</p>")
        response_mode = params.get("response_mode") or "query"
        state = params.get("state")
        if response_mode not in ("query", "form_post"):
            return self._redirect_with({"error": "invalid_request", "error_description":
                                        f"AADSTS900144: response_mode '{response_mode}' is not "
                                        "supported for the code flow.", "state": state},
                                       redirect_uri, "query")
        if params.get("response_type") != "code":
            return self._redirect_with({"error": "unsupported_response_type",
                                        "error_description": "AADSTS700054: response_type must "
                                        "be 'code'.", "state": state},
                                       redirect_uri, response_mode)
        method = params.get("code_challenge_method")
        if params.get("code_challenge") and method not in (None, "S256", "plain"):
            return self._redirect_with({"error": "invalid_request", "error_description":
                                        "AADSTS501491: Invalid code_challenge_method.",
                                        "state": state}, redirect_uri, response_mode)
        if params.get("prompt") == "none":
            return self._redirect_with({"error": "login_required", "error_description":
                                        "AADSTS50058: A silent sign-in request was sent but no "
                                        "user is signed in.", "state": state},
                                       redirect_uri, response_mode)
        if request.method == "POST":
            if "cancel" in params:
                return self._redirect_with({"error": "access_denied", "error_description":
                                            "AADSTS65004: User declined to consent to access "
                                            "the app.", "state": state},
                                           redirect_uri, response_mode)
            email = (params.get("user") or "").lower()
            user = next((u for u in self.sign_in_users()
                         if u["internalemailaddress"].lower() == email), None)
            if user is not None:
                code = secrets.token_urlsafe(32)
                self.store.save_auth_code(code, {
                    "client_id": client_id, "redirect_uri": redirect_uri,
                    "user_id": user["systemuserid"], "nonce": params.get("nonce"),
                    "code_challenge": params.get("code_challenge"),
                    "code_challenge_method": method or "plain",
                    "scope": params.get("scope", ""),
                }, time.time() + CODE_LIFETIME)
                return self._redirect_with({"code": code, "state": state,
                                            "session_state": str(uuid.uuid4())},
                                           redirect_uri, response_mode)
            return self._sign_in_page(request, params, app, 400,
                                      f"No enabled user {params.get('user')!r} in this org.")
        return self._sign_in_page(request, params, app, 200, None)

    def _sign_in_page(self, request: Request, params: dict, app: dict, status: int,
                      problem: str | None) -> Response:
        hint = (params.get("login_hint") or "").lower()
        action = request.path + (f"?{request.query_string}" if request.query_string else "")
        buttons = []
        users = self.sign_in_users()
        users.sort(key=lambda u: u["internalemailaddress"].lower() != hint)  # hinted first
        for user in users:
            email = user["internalemailaddress"]
            hinted = email.lower() == hint
            buttons.append(
                f'<button class="user{" hinted" if hinted else ""}" type="submit" name="user" '
                f'value="{html.escape(email)}"{" autofocus" if hinted else ""}>'
                f'{html.escape(user["fullname"])}<span class="email">{html.escape(email)}</span>'
                "</button>")
        content = (
            f"<h1>Sign in to {html.escape(self.org['org_name'])}</h1>"
            f"<p>{html.escape(app.get('name', app['client_id']))} wants to access Dynamics 365 "
            "as you. Pick an account:</p>"
            + (f'<p role="alert"><strong>{html.escape(problem)}</strong></p>' if problem else "")
            + f'<form method="post" action="{html.escape(action)}">' + "".join(buttons)
            + '<button class="cancel" type="submit" name="cancel" value="1">Cancel</button>'
            "</form>"
            '<p class="note">Dynamics 365 emulator: no password is asked.</p>')
        return self._page(status, "Sign in to your account", content)

    # -- token ---------------------------------------------------------------------------------

    def _client(self, request: Request, form: dict) -> tuple[dict | None, Response | None]:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        header = request.header("authorization") or ""
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:]).decode()
                client_id, _, secret = decoded.partition(":")
                client_id = urllib.parse.unquote(client_id)
                secret = urllib.parse.unquote(secret)
            except (ValueError, UnicodeDecodeError):
                return None, self._error(401, "invalid_client", 7000216,
                                         "The Basic authorization header is malformed.")
        app = self.find_app(client_id or "")
        if app is None:
            return None, self._error(401, "invalid_client", 700016,
                                     f"Application with identifier '{client_id}' was not found "
                                     f"in the directory '{self.org['org_name']}'.")
        if not secret:
            return None, self._error(401, "invalid_client", 7000218,
                                     "The request body must contain the following parameter: "
                                     "'client_assertion' or 'client_secret'.")
        if not secrets.compare_digest(secret, app["client_secret"]):
            return None, self._error(401, "invalid_client", 7000215,
                                     "Invalid client secret provided. Ensure the secret being "
                                     "sent in the request is the client secret value, not the "
                                     f"client secret ID, for a secret added to app "
                                     f"'{client_id}'.")
        return app, None

    def token(self, request: Request) -> Response:
        form = dict(urllib.parse.parse_qsl(request.body.decode("utf-8", "replace"),
                                           keep_blank_values=True))
        app, problem = self._client(request, form)
        if problem:
            return problem
        grant = form.get("grant_type")
        if grant == "client_credentials":
            return self._client_credentials(request, app, form)
        if grant == "authorization_code":
            return self._authorization_code(request, app, form)
        if grant == "refresh_token":
            return self._refresh(request, app, form)
        return self._error(400, "unsupported_grant_type", 70003,
                           f"The app requested an unsupported grant type '{grant}'.")

    def _client_credentials(self, request: Request, app: dict, form: dict) -> Response:
        scope = form.get("scope", "")
        if not any(item.endswith("/.default") for item in scope.split()):
            return self._error(400, "invalid_scope", 1002012,
                               f"The provided value for scope {scope} is not valid. Client "
                               "credential flows must have a scope value with /.default "
                               "suffixed to the resource identifier (application ID URI).")
        user = self.user(app.get("user_id", ""))
        if user is None or user.get("isdisabled"):
            return self._error(401, "unauthorized_client", 700016,
                               "The application has no enabled application user in this org.")
        token, lifetime = self.issue_access_token(user["systemuserid"], app["client_id"],
                                                  resource_of(scope))
        return self._tokens({"access_token": token, "expires_in": lifetime,
                             "ext_expires_in": lifetime})

    def _authorization_code(self, request: Request, app: dict, form: dict) -> Response:
        redeemed = self.store.redeem_auth_code(form.get("code", ""))
        if redeemed is None:
            return self._error(400, "invalid_grant", 70000, "The provided authorization code "
                               "is invalid or malformed.")
        grant, expires_at, used = redeemed
        if used:
            return self._error(400, "invalid_grant", 54005,
                               "OAuth2 Authorization code was already redeemed, please retry "
                               "with a new valid code or use an existing refresh token.")
        if expires_at < time.time():
            return self._error(400, "invalid_grant", 70008, "The provided authorization code "
                               "has expired.")
        if grant["client_id"] != app["client_id"]:
            return self._error(400, "invalid_grant", 70000, "The authorization code was issued "
                               "to another application.")
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return self._error(400, "invalid_grant", 50148, "The redirect_uri specified in the "
                               "token request does not match the redirect_uri used when "
                               "acquiring the authorization code.")
        challenge = grant.get("code_challenge")
        if challenge:
            verifier = form.get("code_verifier", "")
            if grant.get("code_challenge_method") == "S256":
                computed = _b64url(hashlib.sha256(verifier.encode()).digest())
            else:
                computed = verifier
            if not verifier or not secrets.compare_digest(computed, challenge):
                return self._error(400, "invalid_grant", 501481, "The Code_Verifier does not "
                                   "match the code_challenge supplied in the authorization "
                                   "request.")
        user = self.user(grant["user_id"])
        if user is None or user.get("isdisabled"):
            return self._error(400, "invalid_grant", 50057, "The user account is disabled.")
        return self._user_tokens(request, app, user, grant["scope"], grant.get("nonce"))

    def _refresh(self, request: Request, app: dict, form: dict) -> Response:
        found = self.store.find_refresh_token(form.get("refresh_token", ""))
        if found is None:
            return self._error(400, "invalid_grant", 9002313, "Invalid request. Request is "
                               "malformed or invalid. (refresh token unknown)")
        user_id, client_id, scope, expires_at, revoked = found
        if revoked:
            return self._error(400, "invalid_grant", 50173, "The provided grant has expired due "
                               "to it being revoked, a fresh auth token is needed.")
        if expires_at < time.time():
            return self._error(400, "invalid_grant", 700082, "The refresh token has expired due "
                               "to inactivity.")
        if client_id != app["client_id"]:
            return self._error(400, "invalid_grant", 700005, "Provided Authorization Code is "
                               "intended to use against other tenant or application.")
        user = self.user(user_id)
        if user is None or user.get("isdisabled"):
            return self._error(400, "invalid_grant", 50057, "The user account is disabled.")
        requested = form.get("scope") or scope
        return self._user_tokens(request, app, user, requested, None)

    def _user_tokens(self, request: Request, app: dict, user: dict, scope: str,
                     nonce: str | None) -> Response:
        token, lifetime = self.issue_access_token(user["systemuserid"], app["client_id"],
                                                  resource_of(scope))
        refresh = secrets.token_urlsafe(48)
        self.store.save_refresh_token(refresh, user["systemuserid"], app["client_id"], scope,
                                      time.time() + REFRESH_LIFETIME)
        now = int(time.time())
        object_id = user.get("azureactivedirectoryobjectid") or user["systemuserid"]
        claims = {
            "aud": app["client_id"],
            "iss": f"{request.base_url}/{self.tenant}/v2.0",
            "iat": now, "nbf": now, "exp": now + 3600,
            "name": user.get("fullname"),
            "oid": object_id,
            "preferred_username": user.get("internalemailaddress"),
            "sub": _b64url(hashlib.sha256(f"{object_id}:{app['client_id']}".encode()).digest()),
            "tid": self.tenant,
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        id_token = "e30." + _b64url(json.dumps(claims).encode()) + ".x"
        client_info = _b64url(json.dumps({"uid": object_id, "utid": self.tenant}).encode())
        return self._tokens({"access_token": token, "expires_in": lifetime,
                             "ext_expires_in": lifetime, "refresh_token": refresh,
                             "id_token": id_token, "client_info": client_info})

    def _tokens(self, fields: dict) -> Response:
        # No "scope" in the answer: msal would cache the token under an echoed scope that differs
        # from the one it asked for and then never find it again (deps.md).
        return json_response(200, {"token_type": "Bearer", **fields},
                             [("Cache-Control", "no-store"), ("Pragma", "no-cache")],
                             content_type="application/json; charset=utf-8")
