"""Contract: MsalAuth against the emulator's identity provider, end to end over HTTPS."""

import pytest

from dynamics import AuthError, ConnectError, DynamicsClient, MsalAuth, make_session
from tests.dynamics.contract_support import (
    ADMIN,
    FAST,
    REDIRECT_URI,
    allowed,
    app_client,
    msal_auth,
)

pytestmark = pytest.mark.emulator


def _signed_in(emulator, email=ADMIN):
    session = make_session(ca_bundle=emulator.ca_cert)
    auth = msal_auth(emulator, mode="user", session=session)
    flow = auth.start_sign_in(REDIRECT_URI, login_hint=email)
    params = emulator.sign_in(flow["auth_uri"], email)
    claims = auth.finish_sign_in(flow, params)
    client = DynamicsClient(
        emulator.base_url, auth, session=session, retry=FAST, extra_allowed_hosts=allowed(emulator)
    )
    return auth, client, claims


def test_auth_code_flow_then_silent_refresh_after_tokens_expire(emulator):
    auth, client, claims = _signed_in(emulator)
    admin = emulator.user(ADMIN)
    assert claims["preferred_username"] == ADMIN
    assert claims["oid"] == admin["azureactivedirectoryobjectid"]
    assert auth.account()["username"] == ADMIN
    assert client.whoami()["UserId"] == admin["systemuserid"]
    saved = auth.cache_state()
    assert saved is not None

    # Dynamics now refuses the cached access token; msal still believes it valid. The client
    # gets 401, forces a refresh with the refresh token, and repeats the request once.
    emulator.expire_tokens()
    client.stats.reset()
    assert client.whoami()["UserId"] == admin["systemuserid"]
    assert client.stats.requests == 2
    assert client.stats.retries == 1
    latest = auth.cache_state()  # the refreshed tokens, to store again
    assert latest is not None and latest != saved

    # A new process restores the stored cache and needs no sign-in.
    session = make_session(ca_bundle=emulator.ca_cert)
    restored = msal_auth(emulator, mode="user", token_cache=latest, session=session)
    restored_client = DynamicsClient(
        emulator.base_url, restored, session=session, extra_allowed_hosts=allowed(emulator)
    )
    assert restored_client.whoami()["UserId"] == admin["systemuserid"]


def test_a_revoked_refresh_token_means_sign_in_again(emulator):
    _, client, _ = _signed_in(emulator)
    emulator.expire_tokens(refresh=True)
    with pytest.raises(AuthError) as caught:
        client.whoami()
    assert caught.value.kind == "auth"
    assert "sign in again" in caught.value.message


def test_cancel_at_the_sign_in_page(emulator):
    auth = msal_auth(emulator, mode="user")
    flow = auth.start_sign_in(REDIRECT_URI)
    params = emulator.sign_in(flow["auth_uri"], cancel=True)
    with pytest.raises(AuthError, match="cancelled") as caught:
        auth.finish_sign_in(flow, params)
    assert caught.value.code == "access_denied"


def test_a_callback_from_another_sign_in_is_refused(emulator):
    auth = msal_auth(emulator, mode="user")
    first = auth.start_sign_in(REDIRECT_URI)
    second = auth.start_sign_in(REDIRECT_URI)
    params = emulator.sign_in(first["auth_uri"], ADMIN)
    with pytest.raises(AuthError, match="state mismatch"):
        auth.finish_sign_in(second, params)


def test_client_credentials_act_as_the_application_user(emulator):
    client = app_client(emulator)
    app_user = next(user for user in emulator.users() if user["application_user"])
    assert client.whoami()["UserId"] == app_user["systemuserid"]


def test_a_wrong_client_secret_is_an_auth_error(emulator):
    auth = MsalAuth(
        environment_url=emulator.base_url,
        client_id=emulator.client_id,
        client_credential="not-the-secret",
        authority=emulator.authority,
        session=make_session(ca_bundle=emulator.ca_cert),
        mode="app",
        extra_allowed_hosts=allowed(emulator),
    )
    with pytest.raises(AuthError) as caught:
        auth.access_token()
    assert caught.value.code == "invalid_client"


def test_an_unreachable_identity_provider_is_a_connect_error(emulator_clean):
    auth = msal_auth(emulator_clean, mode="app")
    auth.access_token()
    emulator_clean.set_faults(unreachable=True)
    with pytest.raises(ConnectError):
        auth.access_token(force_refresh=True)


def test_sign_in_pages_on_a_plain_http_browser_port(emulator_factory):
    # The person's browser never meets the self-signed certificate; msal still talks https to
    # the token endpoint.
    emulator = emulator_factory(size="demo", browser_port=0)
    assert emulator.browser_url.startswith("http://")
    flow = msal_auth(emulator, mode="user").start_sign_in(REDIRECT_URI)
    assert flow["auth_uri"].startswith(f"{emulator.browser_url}/{emulator.tenant}/oauth2/v2.0/")
    auth, client, claims = _signed_in(emulator)
    assert claims["preferred_username"] == ADMIN
    assert client.whoami()["UserId"] == emulator.user(ADMIN)["systemuserid"]
