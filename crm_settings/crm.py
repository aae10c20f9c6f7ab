"""Building ``dynamics`` clients for a contract: the one place that knows the portal's settings.

Every app that talks to Dynamics (the connect flow here, the import, the writeback) gets its
client from ``open_client``: it is configured from settings (app registration, authority, CA
bundle, page size), authenticates with the connection's stored token cache, and writes the cache
back, encrypted, when msal refreshed a token. It also stores what the client learns of the
connection's API budget (``crm_settings.budget``), and holds the client to a Retry-After another
client of the connection was given.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from crm_settings.budget import RECORD_EVERY_SECONDS, BudgetRecorder
from crm_settings.crypto import TokenDecryptionError, decrypt
from crm_settings.models import CrmConnection
from dynamics import (
    AuthError,
    DynamicsClient,
    EnvironmentUrlRefused,
    MsalAuth,
    RetryPolicy,
    environment_origin,
    make_session,
)

# A person is waiting on pages: retry a hiccup once or twice, then show the error; a Retry-After
# longer than 3 s is not waited for, the page says when to try again. Background work (the
# import, writeback) keeps the client's patient default (waits of up to 2 minutes).
INTERACTIVE_RETRY = RetryPolicy(
    max_attempts=3, base_delay=0.25, max_delay=1, max_retry_after=3, budget=8
)


def authority_for(tenant: str) -> str:
    return f"{settings.DYNAMICS_AUTHORITY_HOST}/{tenant or settings.DYNAMICS_DEFAULT_TENANT}"


def build_auth(*, environment_url: str, tenant: str, token_cache: str | None, session) -> MsalAuth:
    return MsalAuth(
        environment_url=environment_url,
        client_id=settings.DYNAMICS_CLIENT_ID,
        client_credential=settings.DYNAMICS_CLIENT_SECRET,
        authority=authority_for(tenant),
        session=session,
        token_cache=token_cache,
        mode="user",
        extra_allowed_hosts=settings.DYNAMICS_EXTRA_ALLOWED_HOSTS,
    )


def new_session():
    return make_session(ca_bundle=settings.DYNAMICS_CA_BUNDLE or None)


def build_client(
    *, environment_url: str, auth: MsalAuth, session, interactive: bool = False
) -> DynamicsClient:
    return DynamicsClient(
        environment_url,
        auth,
        session=session,
        page_size=settings.DYNAMICS_PAGE_SIZE,
        retry=INTERACTIVE_RETRY if interactive else None,
        extra_allowed_hosts=settings.DYNAMICS_EXTRA_ALLOWED_HOSTS,
    )


def connection_unusable(connection: CrmConnection) -> AuthError | None:
    """Why ``open_client`` would refuse the connection, found without sending anything: a stored
    environment URL the environment rule refuses (saved before it was strict), or a stored
    sign-in no key in PORTAL_ENCRYPTION_KEY reads. None when neither is the case.

    Pages call this instead of asking Dynamics, so they can say "connect to CRM again" at once.
    """
    try:
        environment_origin(
            connection.environment_url, extra_allowed_hosts=settings.DYNAMICS_EXTRA_ALLOWED_HOSTS
        )
        if connection.token_cache_encrypted:
            decrypt(connection.token_cache_encrypted)
    except (EnvironmentUrlRefused, TokenDecryptionError) as error:
        return error
    return None


@contextmanager
def open_client(
    connection: CrmConnection, *, interactive: bool = False
) -> Iterator[DynamicsClient]:
    """A client for the contract's connection; the refreshed token cache is saved on exit.

    ``interactive=True`` for code a person waits on (pages): fewer, shorter retries.
    A stored environment URL that the environment rule refuses (saved before it was strict)
    raises EnvironmentUrlRefused, a DynamicsError, on entry: nothing is sent. The client sends
    nothing before a Retry-After stored on the connection ends (it raises ``Throttled`` when it
    cannot wait that long), and its budget readings are stored on the connection every
    ``RECORD_EVERY_SECONDS``, when Dynamics asks it to wait, and on exit.
    """
    session = new_session()
    auth = build_auth(
        environment_url=connection.environment_url,
        tenant=connection.tenant,
        token_cache=connection.token_cache,
        session=session,
    )
    client = build_client(
        environment_url=connection.environment_url,
        auth=auth,
        session=session,
        interactive=interactive,
    )
    if connection.budget_retry_at is not None:
        client.budget.hold_until(connection.budget_retry_at)
    client.budget.listen(
        BudgetRecorder(connection.pk, contract_id=connection.contract_id),
        every=RECORD_EVERY_SECONDS,
    )
    try:
        yield client
    finally:
        client.budget.flush()
        changed = auth.cache_state()
        if changed is not None and CrmConnection.objects.filter(pk=connection.pk).exists():
            connection.token_cache = changed
            CrmConnection.objects.filter(pk=connection.pk).update(
                token_cache_encrypted=connection.token_cache_encrypted
            )
        client.close()
