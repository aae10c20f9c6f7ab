"""Fixtures for the writeback tests: a contract that copies everything, and a member to write to.

Against the Dynamics emulator: ``copying`` is ``crm_contract`` copying every item type, ``rep`` a
seat holder the CRM knows (Alex Morgan, mapped to his CRM user as the import maps seats), and
``crm_person`` makes a contact or lead with a fresh email in the emulator's org. ``demo_crm`` is
an emulator of the demo org for the tests that count every activity or import the whole org:
reset to the seeded org before each test, with the portal pointed at it.
"""

import uuid

import pytest

from crm_settings.connect import connection_complete, connection_start
from crm_settings.crm import open_client
from crm_settings.models import CrmSettings
from sync.users import crm_users_refresh
from tests.conftest import point_portal_at
from tests.factories import CrmSettingsFactory, MemberFactory, SeatFactory

ALEX = "alex.morgan@contoso-demo.com"
INTEGRATION = "integration@contoso-demo.com"


@pytest.fixture
def writeback_on(contract):
    """The contract copies every item type to the CRM ("Sync back all data items")."""
    return CrmSettingsFactory(contract=contract, writeback=True)


@pytest.fixture
def member(db):
    return MemberFactory(first_name="Jane", last_name="Doe", company__name="Northwind")


def copy_everything(contract, monkeypatch) -> None:
    """Turn on copying every item type for a contract connected to the emulator.

    Activity ids derive from database ids, which SQLite hands out again after each test's
    rollback, while the session's emulator keeps every activity: a namespace of the test's own
    keeps its ids from meeting an earlier test's activities.
    """
    monkeypatch.setattr("writeback.models.ACTIVITY_ID_NAMESPACE", uuid.uuid4())
    CrmSettings.objects.filter(contract=contract).update(writeback_enabled=True, writeback_all=True)


@pytest.fixture
def copying(crm_contract, monkeypatch):
    """``crm_contract`` (connected to the emulator as its Integration User) copying everything."""
    copy_everything(crm_contract, monkeypatch)
    return crm_contract


def map_seats(contract) -> None:
    """Map the contract's seats to CRM users by email, as the import does."""
    with open_client(contract.crm_connection) as client:
        crm_users_refresh(contract=contract, client=client)


@pytest.fixture
def rep(copying):
    """Alex Morgan's seat: the CRM has a user with his email, and the seat is mapped to it."""
    seat = SeatFactory(contract=copying, user__email=ALEX)
    map_seats(copying)
    return seat


@pytest.fixture
def crm_person(dynamics):
    """``crm_person("contacts" or "leads", **columns)``: a new row with a fresh email."""

    def create(entity_set: str = "contacts", **columns) -> dict:
        key = "contactid" if entity_set == "contacts" else "leadid"
        token = uuid.uuid4().hex[:10]
        row = {
            key: str(uuid.uuid4()),
            "firstname": "Robin",
            "lastname": f"Crm{token}",
            "emailaddress1": f"robin.{token}@crm-person.test",
            **columns,
        }
        return dynamics.create_row(entity_set, **row)

    return create


@pytest.fixture(scope="session")
def demo_crm_server(emulator_factory):
    return emulator_factory(size="demo")


@pytest.fixture
def demo_crm(demo_crm_server, settings):
    """The demo org as seeded (its activity tables empty), and the portal pointed at it."""
    demo_crm_server.reset()
    return point_portal_at(settings, demo_crm_server)


def connect(crm, contract, admin) -> None:
    """Connect ``contract`` to ``crm`` as an admin does: Microsoft sign-in, then the checks."""
    pending = connection_start(
        environment_url=crm.base_url,
        tenant=crm.tenant,
        redirect_uri="http://127.0.0.1:8000/admin-settings/crm/callback/",
    )
    params = crm.sign_in(pending.flow["auth_uri"], INTEGRATION)
    connection_complete(contract=contract, pending=pending, params=params, by=admin.user)
