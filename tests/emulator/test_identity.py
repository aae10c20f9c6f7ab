"""msal against the emulator's identity provider: client credentials and the auth-code flow."""

from __future__ import annotations

import urllib.parse
import warnings

import msal
import pytest

from .conftest import Api

pytestmark = pytest.mark.emulator

REDIRECT = "http://127.0.0.1:8000/crm/callback"


def _app(emulator, *, secret: str | None = None, session=None,
         cache: msal.SerializableTokenCache | None = None) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        emulator.client_id, client_credential=secret or emulator.client_secret,
        authority=emulator.authority, instance_discovery=False, azure_region=None,
        http_client=session or emulator.session(), token_cache=cache)


def _start_flow(app, emulator, **kwargs) -> dict:
    with warnings.catch_warnings():
        # msal 1.39 recommends form_post; the portal uses query (see the client's MsalAuth).
        warnings.simplefilter("ignore")
        return app.initiate_auth_code_flow([emulator.scope], redirect_uri=REDIRECT, **kwargs)


def test_discovery_document(emulator):
    session = emulator.session()
    config = session.get(f"{emulator.authority}/v2.0/.well-known/openid-configuration").json()
    assert config["issuer"] == f"{emulator.authority}/v2.0"
    assert config["token_endpoint"] == f"{emulator.authority}/oauth2/v2.0/token"
    assert config["authorization_endpoint"] == f"{emulator.authority}/oauth2/v2.0/authorize"
    wrong = session.get(f"{emulator.base_url}/not-a-tenant/v2.0/.well-known/openid-configuration")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_tenant"


def test_client_credentials_with_msal(emulator):
    app = _app(emulator)
    result = app.acquire_token_for_client(scopes=[emulator.scope])
    assert result["token_type"] == "Bearer" and result["expires_in"] > 300
    assert "scope" not in result or result["scope"] == emulator.scope
    who = Api(emulator, result["access_token"]).get("WhoAmI").json()
    assert who["UserId"] == emulator.user("portal-integration-app@contoso-demo.com")[
        "systemuserid"]
    again = app.acquire_token_for_client(scopes=[emulator.scope])
    assert again["token_source"] == "cache"


def test_wrong_secret_is_invalid_client(emulator):
    result = _app(emulator, secret="wrong").acquire_token_for_client(scopes=[emulator.scope])
    assert result["error"] == "invalid_client"
    assert "AADSTS7000215" in result["error_description"]


def test_client_credentials_need_a_default_scope(emulator):
    session = emulator.session()
    response = session.post(f"{emulator.authority}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": emulator.client_id,
        "client_secret": emulator.client_secret, "scope": "openid"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_auth_code_flow_end_to_end_with_silent_refresh(emulator):
    session = emulator.session()
    cache = msal.SerializableTokenCache()
    app = _app(emulator, session=session, cache=cache)
    flow = _start_flow(app, emulator, login_hint="alex.morgan@contoso-demo.com")

    page = session.get(flow["auth_uri"])
    assert page.status_code == 200
    assert "Alex Morgan" in page.text and "alex.morgan@contoso-demo.com" in page.text
    assert "chris.former@contoso-demo.com" not in page.text  # disabled users cannot sign in
    assert "portal-integration-app" not in page.text  # nor application users
    assert page.text.index("alex.morgan@") < page.text.index("admin@")  # the hint comes first

    params = emulator.sign_in(flow["auth_uri"], "alex.morgan@contoso-demo.com", session=session)
    assert params["state"] == flow["state"] and params["code"]
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" in result, result
    claims = result["id_token_claims"]
    assert claims["preferred_username"] == "alex.morgan@contoso-demo.com"
    assert claims["tid"] == emulator.tenant and claims["aud"] == emulator.client_id
    alex = emulator.user("alex.morgan@contoso-demo.com")
    assert claims["oid"] == alex["azureactivedirectoryobjectid"]
    assert Api(emulator, result["access_token"]).get("WhoAmI").json()["UserId"] == \
        alex["systemuserid"]

    accounts = app.get_accounts()
    assert [a["username"] for a in accounts] == ["alex.morgan@contoso-demo.com"]
    cached = app.acquire_token_silent([emulator.scope], account=accounts[0])
    assert cached["access_token"] == result["access_token"]

    # A new app instance restored from the serialized cache refreshes with the refresh token.
    restored_cache = msal.SerializableTokenCache()
    restored_cache.deserialize(cache.serialize())
    restored = _app(emulator, session=session, cache=restored_cache)
    refreshed = restored.acquire_token_silent([emulator.scope], account=restored.get_accounts()[0],
                                              force_refresh=True)
    assert refreshed["access_token"] != result["access_token"]
    assert Api(emulator, refreshed["access_token"]).get("WhoAmI").status_code == 200


def test_revoked_refresh_tokens_end_silent_sign_in(emulator_factory):
    org = emulator_factory(size="demo")
    session = org.session()
    app = _app(org, session=session)
    flow = _start_flow(app, org)
    app.acquire_token_by_auth_code_flow(flow, org.sign_in(flow["auth_uri"], session=session))
    org.expire_tokens(refresh=True)
    result = app.acquire_token_silent([org.scope], account=app.get_accounts()[0],
                                      force_refresh=True)
    assert result is None or result.get("error") == "invalid_grant"


def test_cancel_gives_access_denied(emulator):
    app = _app(emulator)
    flow = _start_flow(app, emulator)
    params = emulator.sign_in(flow["auth_uri"], cancel=True)
    assert params["error"] == "access_denied" and params["state"] == flow["state"]
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert result["error"] == "access_denied"


def test_codes_are_one_time_and_pkce_is_checked(emulator):
    session = emulator.session()
    app = _app(emulator, session=session)
    flow = _start_flow(app, emulator)
    params = emulator.sign_in(flow["auth_uri"], session=session)
    token_url = f"{emulator.authority}/oauth2/v2.0/token"
    form = {"grant_type": "authorization_code", "client_id": emulator.client_id,
            "client_secret": emulator.client_secret, "code": params["code"],
            "redirect_uri": REDIRECT, "code_verifier": "not-the-verifier"}
    wrong = session.post(token_url, data=form).json()
    assert wrong["error"] == "invalid_grant" and "Code_Verifier" in wrong["error_description"]
    reused = session.post(token_url, data=form | {"code_verifier": flow["code_verifier"]}).json()
    assert reused["error"] == "invalid_grant" and "already redeemed" in reused[
        "error_description"]


def test_unknown_redirect_uri_is_refused_on_the_page(emulator):
    app = _app(emulator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flow = app.initiate_auth_code_flow([emulator.scope],
                                           redirect_uri="https://evil.example/callback")
    page = emulator.session().get(flow["auth_uri"])
    assert page.status_code == 400 and "AADSTS50011" in page.text
    emulator.register_app(emulator.client_id, emulator.client_secret,
                          ["https://portal.example/crm/callback"],
                          user_id=emulator.user("portal-integration-app@contoso-demo.com")[
                              "systemuserid"], name="Portal Integration App")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flow = app.initiate_auth_code_flow([emulator.scope],
                                           redirect_uri="https://portal.example/crm/callback")
    assert emulator.session().get(flow["auth_uri"]).status_code == 200


def test_form_post_response_mode(emulator):
    app = _app(emulator)
    flow = app.initiate_auth_code_flow([emulator.scope], redirect_uri=REDIRECT,
                                       response_mode="form_post")
    params = emulator.sign_in(flow["auth_uri"], "priya.shah@contoso-demo.com")
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert result["id_token_claims"]["preferred_username"] == "priya.shah@contoso-demo.com"


def test_browser_port_serves_sign_in_over_plain_http(emulator_factory):
    org = emulator_factory(size="demo", browser_port=0)
    assert org.browser_url.startswith("http://") and org.browser_url != org.base_url
    config = org.session().get(f"{org.authority}/v2.0/.well-known/openid-configuration").json()
    assert config["authorization_endpoint"].startswith(f"{org.browser_url}/")
    assert config["token_endpoint"].startswith("https://")
    app = _app(org)
    flow = _start_flow(app, org)
    assert urllib.parse.urlsplit(flow["auth_uri"]).scheme == "http"
    result = app.acquire_token_by_auth_code_flow(flow, org.sign_in(flow["auth_uri"]))
    assert "access_token" in result
    only_pages = org.session().get(f"{org.browser_url}/api/data/v9.2/WhoAmI")
    assert only_pages.status_code == 404


def test_token_lifetime_option(emulator_factory):
    org = emulator_factory(size="demo", token_lifetime=900)
    result = _app(org).acquire_token_for_client(scopes=[org.scope])
    assert result["expires_in"] == 900
