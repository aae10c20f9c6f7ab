"""Fixtures for the import's tests: the emulator's demo org, a contract connected to it the way an
admin connects (Microsoft sign-in as the Integration User), its seat holders and the network.

The demo org's sales reps hold seats here with the emails they have in the CRM
(``demodata.DEMO_USERS``), so seats map to CRM users; Jordan Kim and Lee Chen own opportunities
but have no seat. The network is the demo network generated from the same seed.
"""

import pytest

import demodata
from crm_settings.connect import connection_complete, connection_start
from network.demo import network_seed
from seats.models import Role
from sync.models import SyncRun
from sync.runs import sync_run_claim, sync_run_request
from sync.services import sync_run_execute
from tests import emulator_fixtures
from tests.factories import ContractFactory, SeatFactory

emulator_factory = emulator_fixtures.emulator_factory

SEAT_HOLDERS = [user.email for user in demodata.DEMO_USERS if user.seat and user.role == "sales"]
ADMIN_EMAIL = "admin@contoso-demo.com"


@pytest.fixture(scope="session")
def crm_server(emulator_factory):
    """One emulator with the demo org for the whole session (reset before each test)."""
    return emulator_factory(size="demo")


@pytest.fixture
def crm(crm_server, settings):
    """The demo org as seeded, and the portal's settings pointing at it."""
    crm_server.reset()
    settings.DYNAMICS_AUTHORITY_HOST = crm_server.base_url
    settings.DYNAMICS_DEFAULT_TENANT = crm_server.tenant
    settings.DYNAMICS_CA_BUNDLE = crm_server.ca_cert
    settings.DYNAMICS_CLIENT_ID = crm_server.client_id
    settings.DYNAMICS_CLIENT_SECRET = crm_server.client_secret
    settings.DYNAMICS_EXTRA_ALLOWED_HOSTS = [crm_server.base_url.split("://", 1)[1]]
    return crm_server


@pytest.fixture
def demo_contract(db):
    """A contract whose seats are the demo org's admin and sales reps, with the demo network."""
    contract = ContractFactory(name="Contoso Demo Test")
    SeatFactory(contract=contract, role=Role.ADMIN, user__email=ADMIN_EMAIL)
    for email in SEAT_HOLDERS:
        SeatFactory(contract=contract, user__email=email)
    network_seed()
    return contract


@pytest.fixture
def connected(crm, demo_contract):
    """``demo_contract``, connected to the emulator through the real sign-in flow."""
    admin = demo_contract.seats.get(user__email=ADMIN_EMAIL)
    pending = connection_start(
        environment_url=crm.base_url,
        tenant=crm.tenant,
        redirect_uri="http://127.0.0.1:8000/admin-settings/crm/callback/",
    )
    params = crm.sign_in(pending.flow["auth_uri"], "integration@contoso-demo.com")
    connection_complete(contract=demo_contract, pending=pending, params=params, by=admin.user)
    return demo_contract


@pytest.fixture
def run_sync():
    """``run_sync(contract, trigger="manual")``: one import, in this process; returns the run."""

    def run(contract, trigger=SyncRun.Trigger.MANUAL, *, full=False, client=None) -> SyncRun:
        run, _ = sync_run_request(contract=contract, trigger=trigger, full=full)
        assert sync_run_claim(run=run)
        sync_run_execute(run=run, client=client)
        run.refresh_from_db()
        return run

    return run
