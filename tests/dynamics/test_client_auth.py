"""make_session's CA handling over real TLS, and MsalAuth against a mocked identity provider."""

import base64
import json
import ssl
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import msal
import pytest
import requests

from dynamics import (
    AuthError,
    ConnectError,
    DynamicsClient,
    MsalAuth,
    StaticTokenAuth,
    make_session,
)
from tests.dynamics.client_fakes import ALLOWED, ORG
from tests.dynamics.replay_server import self_signed

AUTHORITY = "https://login.example.test/11111111-2222-3333-4444-555555555555"
TOKEN_URL = f"{AUTHORITY}/oauth2/v2.0/token"
REDIRECT = "http://127.0.0.1:8000/crm/callback"


# -- make_session and REQUESTS_CA_BUNDLE ---------------------------------------------------


class _WhoAmI(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = json.dumps({"UserId": "u", "BusinessUnitId": "b", "OrganizationId": "o"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def tls_server(tmp_path):
    cert, key = (str(path) for path in self_signed(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WhoAmI)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", cert
    server.shutdown()
    server.server_close()


def test_the_explicit_ca_bundle_wins_over_requests_ca_bundle(tls_server, monkeypatch):
    url, cert = tls_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    # The trap make_session avoids: the environment variable beats Session.verify.
    plain = requests.Session()
    plain.verify = cert
    with pytest.raises(requests.exceptions.SSLError):
        plain.get(url, timeout=5)
    session = make_session(ca_bundle=cert)
    assert session.get(url).json()["UserId"] == "u"
    client = DynamicsClient(
        url, StaticTokenAuth("t"), session=session, extra_allowed_hosts=[urlsplit(url).netloc]
    )
    assert client.whoami()["OrganizationId"] == "o"


def test_without_the_ca_bundle_tls_fails_as_a_connect_error(tls_server):
    url, _ = tls_server
    client = DynamicsClient(url, StaticTokenAuth("t"), extra_allowed_hosts=[urlsplit(url).netloc])
    with pytest.raises(ConnectError) as caught:
        client.whoami()
    assert not caught.value.retryable
    assert "TLS failure" in caught.value.message


def test_an_unreachable_server_is_a_connect_error():
    client = DynamicsClient(
        "https://127.0.0.1:9",
        StaticTokenAuth("t"),
        retry=None,
        sleep=lambda s: None,
        extra_allowed_hosts=["127.0.0.1:9"],
    )
    with pytest.raises(ConnectError) as caught:
        client.whoami()
    assert caught.value.kind == "connect"
    assert caught.value.retryable


# -- MsalAuth ------------------------------------------------------------------------------


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class FakeIdP:
    """Discovery and token endpoints of a fake Entra tenant, on `responses`."""

    def __init__(self, mocked):
        self.nonce = None
        self.grants: list[dict] = []
        self.refusal = None
        mocked.add(
            "GET",
            f"{AUTHORITY}/v2.0/.well-known/openid-configuration",
            json={
                "issuer": f"{AUTHORITY}/v2.0",
                "authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/authorize",
                "token_endpoint": TOKEN_URL,
            },
        )
        mocked.add_callback("POST", TOKEN_URL, callback=self.token)

    def token(self, request):
        form = {key: values[0] for key, values in parse_qs(request.body).items()}
        self.grants.append(form)
        if self.refusal:
            return 400, {}, json.dumps({"error": self.refusal, "error_description": "AADSTS70000"})
        number = len(self.grants)
        answer = {"access_token": f"at-{number}", "token_type": "Bearer", "expires_in": 3600}
        if form["grant_type"] != "client_credentials":
            answer["refresh_token"] = f"rt-{number}"
            claims = {
                "aud": "portal-app",
                "iss": f"{AUTHORITY}/v2.0",
                "exp": 4102444800,
                "oid": "oid-1",
                "tid": "tid-1",
                "preferred_username": "dana@contoso-demo.com",
                "name": "Dana Admin",
                "nonce": self.nonce,
            }
            answer["id_token"] = f"e30.{_b64(claims)}.x"
            answer["client_info"] = _b64({"uid": "oid-1", "utid": "tid-1"})
        return 200, {}, json.dumps(answer)


@pytest.fixture
def idp(mocked):
    return FakeIdP(mocked)


def _auth(mode="user", token_cache=None):
    return MsalAuth(
        environment_url=f"{ORG}/api/data/v9.2/",
        client_id="portal-app",
        client_credential="secret",
        authority=AUTHORITY,
        session=make_session(),
        token_cache=token_cache,
        mode=mode,
        extra_allowed_hosts=ALLOWED,
    )


def _sign_in(auth, idp):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # msal's response_mode warning must stay silenced
        flow = auth.start_sign_in(REDIRECT, login_hint="dana@contoso-demo.com", state="s-1")
    idp.nonce = parse_qs(urlsplit(flow["auth_uri"]).query)["nonce"][0]
    return flow, auth.finish_sign_in(flow, {"code": "code-1", "state": "s-1"})


def test_sign_in_uses_query_response_mode_and_the_environment_scope(idp):
    auth = _auth()
    flow, claims = _sign_in(auth, idp)
    query = parse_qs(urlsplit(flow["auth_uri"]).query)
    assert query["response_mode"] == ["query"]
    assert query["login_hint"] == ["dana@contoso-demo.com"]
    assert f"{ORG}/.default" in query["scope"][0].split()
    assert "offline_access" in query["scope"][0].split()
    assert claims["preferred_username"] == "dana@contoso-demo.com"
    grant = idp.grants[0]
    assert grant["grant_type"] == "authorization_code"
    assert grant["redirect_uri"] == REDIRECT
    assert grant["code_verifier"]
    assert auth.account()["username"] == "dana@contoso-demo.com"


def test_tokens_come_from_the_cache_then_the_refresh_token(idp):
    auth = _auth()
    _sign_in(auth, idp)
    assert auth.access_token() == "at-1"
    assert len(idp.grants) == 1
    assert auth.access_token(force_refresh=True) == "at-2"
    assert idp.grants[1]["grant_type"] == "refresh_token"
    assert idp.grants[1]["refresh_token"] == "rt-1"


def test_the_cache_survives_serialization(idp):
    auth = _auth()
    _sign_in(auth, idp)
    blob = auth.cache_state()
    assert isinstance(blob, str)
    assert auth.cache_state() is None  # unchanged since saved
    restored = _auth(token_cache=blob)
    assert restored.access_token() == "at-1"
    assert restored.cache_state() is None
    assert len(idp.grants) == 1


def test_a_refused_refresh_token_means_sign_in_again(idp):
    auth = _auth()
    _sign_in(auth, idp)
    idp.refusal = "invalid_grant"
    with pytest.raises(AuthError) as caught:
        auth.access_token(force_refresh=True)
    assert caught.value.code == "invalid_grant"
    assert "sign in again" in caught.value.message
    assert not caught.value.retryable


def test_no_account_means_sign_in(idp):
    with pytest.raises(AuthError, match="must sign in"):
        _auth().access_token()


def test_a_state_mismatch_is_refused(idp):
    auth = _auth()
    flow = auth.start_sign_in(REDIRECT, state="s-1")
    with pytest.raises(AuthError, match="state mismatch"):
        auth.finish_sign_in(flow, {"code": "code-1", "state": "forged"})
    assert idp.grants == []


def test_cancel_is_an_auth_error(idp):
    auth = _auth()
    flow = auth.start_sign_in(REDIRECT)
    with pytest.raises(AuthError, match="cancelled") as caught:
        auth.finish_sign_in(flow, {"error": "access_denied", "state": flow["state"]})
    assert caught.value.code == "access_denied"


def test_client_credentials_are_cached_and_force_refresh_asks_again(idp):
    auth = _auth(mode="app")
    assert auth.access_token() == "at-1"
    assert auth.access_token() == "at-1"
    assert auth.access_token(force_refresh=True) == "at-2"
    assert [grant["grant_type"] for grant in idp.grants] == ["client_credentials"] * 2
    assert idp.grants[0]["scope"] == f"{ORG}/.default"


def test_a_refused_client_secret_is_an_auth_error(idp):
    idp.refusal = "invalid_client"
    with pytest.raises(AuthError, match="client id or secret"):
        _auth(mode="app").access_token()


def test_an_unreachable_identity_provider_is_a_connect_error(mocked):
    mocked.add(
        "GET",
        f"{AUTHORITY}/v2.0/.well-known/openid-configuration",
        body=requests.ConnectionError("Name or service not known"),
    )
    with pytest.raises(ConnectError):
        _auth(mode="app").access_token()


def test_an_http_authority_is_refused_clearly():
    auth = MsalAuth(
        environment_url=ORG,
        client_id="x",
        client_credential="y",
        authority="http://127.0.0.1:1/tenant",
        session=make_session(),
        mode="app",
        extra_allowed_hosts=ALLOWED,
    )
    with pytest.raises(AuthError, match="authority is not usable"):
        auth.access_token()


def test_msal_instance_discovery_is_off_for_a_non_microsoft_host(idp, mocked):
    _auth(mode="app").access_token()
    hosts = {urlsplit(call.request.url).hostname for call in mocked.calls}
    assert hosts == {"login.example.test"}


def test_a_token_cache_object_can_be_shared():
    cache = msal.SerializableTokenCache()
    auth = _auth(token_cache=cache)
    assert auth.cache_state() is None
