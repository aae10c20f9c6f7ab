"""Helpers for the contract tests: clients wired to a running emulator over real HTTPS."""

from urllib.parse import urlsplit

from dynamics import DynamicsClient, MsalAuth, RetryPolicy, StaticTokenAuth, make_session

DEMO = "contoso-demo.com"
ADMIN = f"admin@{DEMO}"
READONLY = f"readonly@{DEMO}"
ALEX = f"alex.morgan@{DEMO}"
INTEGRATION = f"integration@{DEMO}"
REDIRECT_URI = "http://127.0.0.1:8000/crm/callback"

# Short backoff keeps the suite fast. A server's Retry-After is never cut short: a wait above
# max_retry_after ends the call with the error, so fault tests inject "retry_after": 0.
FAST = RetryPolicy(max_attempts=8, base_delay=0.01, max_delay=0.05, max_retry_after=0.05, budget=60)


def allowed(emulator) -> tuple[str]:
    """The emulator's host:port, the exact exception an operator allows for it."""
    return (urlsplit(emulator.base_url).netloc,)


def msal_auth(emulator, *, mode="app", token_cache=None, session=None) -> MsalAuth:
    return MsalAuth(
        environment_url=emulator.base_url,
        client_id=emulator.client_id,
        client_credential=emulator.client_secret,
        authority=emulator.authority,
        session=session or make_session(ca_bundle=emulator.ca_cert),
        token_cache=token_cache,
        mode=mode,
        extra_allowed_hosts=allowed(emulator),
    )


def app_client(emulator, *, retry=FAST, session=None, **options) -> DynamicsClient:
    """A client signed in with client credentials (the org's application user)."""
    session = session or make_session(ca_bundle=emulator.ca_cert)
    auth = msal_auth(emulator, mode="app", session=session)
    return DynamicsClient(
        emulator.base_url,
        auth,
        session=session,
        retry=retry,
        extra_allowed_hosts=allowed(emulator),
        **options,
    )


def user_client(emulator, email: str, *, retry=FAST) -> DynamicsClient:
    """A client with an access token of one user, minted by the control endpoint."""
    session = make_session(ca_bundle=emulator.ca_cert)
    auth = StaticTokenAuth(emulator.token(email))
    return DynamicsClient(
        emulator.base_url, auth, session=session, retry=retry, extra_allowed_hosts=allowed(emulator)
    )
