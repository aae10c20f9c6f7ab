"""The named cast every test can use (healthchecks' alice/bob/charlie, in our roles).

- ``contract``: the contract under test;
- ``admin``: an Admin seat on it (admin + seat holder features);
- ``admin_only``: an Admin only seat (configures, no seat features);
- ``seat_holder``: a Seat holder;
- ``outsider``: the Admin of *another* contract, who must see nothing of ``contract``;
- ``stranger``: a Seat holder of that other contract;
- ``staff``: the operator's staff superuser, who holds no seat (``/admin/`` is theirs).

Each fixture is a Seat; ``seat.user`` signs in. ``login`` gives a client signed in as a seat.
``portal_logs`` captures every log line at DEBUG as the portal writes it in JSON.

Against the Dynamics emulator (a real subprocess, shared by the session; see the section at the
end): ``dynamics`` points the portal's settings at it, ``connect_crm(seat)`` connects a seat's
contract the way an admin does, and ``crm_contract`` is ``contract`` already connected by
``admin`` as the CRM's Integration User, ready for ``crm_settings.crm.open_client``.
"""

import io
import json
import logging
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from config.logs import ContextFilter, JsonFormatter, RedactFilter
from seats.models import User
from tests.factories import ContractFactory, SeatFactory

# The Dynamics emulator as a real subprocess; chromium through Playwright.
pytest_plugins = ["tests.emulator_fixtures", "tests.browser_fixtures"]


@pytest.fixture
def contract(db):
    return ContractFactory(name="Contoso Test")


@pytest.fixture
def admin(contract):
    return SeatFactory(contract=contract, admin=True, user__email="admin@contoso.test")


@pytest.fixture
def admin_only(contract):
    return SeatFactory(contract=contract, admin_only=True, user__email="adminonly@contoso.test")


@pytest.fixture
def seat_holder(contract):
    return SeatFactory(contract=contract, user__email="rep@contoso.test")


@pytest.fixture
def outsider(db):
    return SeatFactory(
        contract=ContractFactory(name="Fabrikam Test"),
        admin=True,
        user__email="admin@fabrikam.test",
    )


@pytest.fixture
def stranger(outsider):
    return SeatFactory(contract=outsider.contract, user__email="rep@fabrikam.test")


@pytest.fixture
def staff(db):
    """A Seat-like stand-in for the operator's staff: ``staff.user`` signs in, with no seat."""
    user = User.objects.create_superuser("staff@crm-sync.test", "staff-password")
    return SimpleNamespace(user=user)


@pytest.fixture
def login(client):
    """``login(seat)`` signs the test client in as that seat's user and returns the client."""

    def _login(seat):
        client.force_login(seat.user)
        return client

    return _login


class CapturedLogs:
    """What the portal's console handler wrote, as ``text`` and as parsed JSON ``lines``."""

    def __init__(self, stream: io.StringIO):
        self._stream = stream

    @property
    def text(self) -> str:
        return self._stream.getvalue()

    @property
    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines()]


@pytest.fixture
def portal_logs():
    """Every log line at DEBUG, through the portal's filters and JSON formatter (the handler
    ``PORTAL_LOG_FORMAT=json`` configures), with the loggers' own levels (msal, django_q) as
    configured. Request it first, to capture what other fixtures log too."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield CapturedLogs(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


# --- The Dynamics emulator -----------------------------------------------------------------------
# The emulator runs as a real subprocess (tests/emulator_fixtures.py); these fixtures point the
# portal at it and connect a contract through the real Microsoft-style sign-in.

INTEGRATION_USER = "integration@contoso-demo.com"
# The emulator, like Entra ID, only accepts registered redirect URIs: any 127.0.0.1 or localhost
# port (as for an app registration used in development), not the test client's "testserver".
PORTAL_HOST = "127.0.0.1:8000"


def point_portal_at(settings, running_emulator):
    """Configure the portal's Dynamics settings for ``running_emulator``."""
    settings.DYNAMICS_AUTHORITY_HOST = running_emulator.base_url
    settings.DYNAMICS_DEFAULT_TENANT = running_emulator.tenant
    settings.DYNAMICS_CA_BUNDLE = running_emulator.ca_cert
    settings.DYNAMICS_EXTRA_ALLOWED_HOSTS = [urlsplit(running_emulator.base_url).netloc]
    settings.DYNAMICS_CLIENT_ID = running_emulator.client_id
    settings.DYNAMICS_CLIENT_SECRET = running_emulator.client_secret
    settings.DYNAMICS_BROWSER_URLS = (
        {running_emulator.base_url.lower(): running_emulator.browser_url}
        if running_emulator.browser_url != running_emulator.base_url
        else {}
    )
    return running_emulator


@pytest.fixture
def dynamics(settings, emulator_clean):
    """The shared emulator (faults reset), with the portal pointed at it."""
    return point_portal_at(settings, emulator_clean)


@pytest.fixture
def connect_crm(client, dynamics):
    """``connect_crm(admin_seat, as_email=...)`` connects the seat's contract to the emulator the
    way an admin does: *Connect to CRM*, the emulator's sign-in page, then the callback. Returns
    the callback's response."""

    def _connect(seat, *, as_email=INTEGRATION_USER, environment_url=None):
        client.force_login(seat.user)
        started = client.post(
            reverse("crm_settings:connect"),
            {"environment_url": environment_url or dynamics.base_url, "tenant": ""},
            headers={"host": PORTAL_HOST},
        )
        assert started.status_code == 302, started.content[:500]
        params = dynamics.sign_in(started.url, as_email)
        return client.get(reverse("crm_settings:callback"), params)

    return _connect


@pytest.fixture
def crm_contract(contract, admin, connect_crm):
    """``contract``, connected to the emulator's org by ``admin`` signed in as the Integration User.

    The emulator's org holds the named users of ``demodata.DEMO_USERS``. It is shared by the
    session: create rows with fresh ids rather than count on an untouched org. Connecting leaves
    the test ``client`` signed in as ``admin``; faults switched on through ``dynamics`` are reset
    after the test.
    """
    response = connect_crm(admin)
    assert response.status_code == 302, response.content[:500]
    contract.refresh_from_db()
    assert contract.crm_connection.token_cache, "connecting stored no sign-in"
    return contract
