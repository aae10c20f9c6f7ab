"""The Data validation page's fixtures: the import's demo org and contract (``tests.sync``), and
``team``, a deal of our own whose two contacts are flagged by the import."""

import pytest

from sync.models import ContactFlag
from tests.sync import conftest as sync_fixtures
from tests.sync.deals import zeta_deal

# The import's fixtures: its demo org, the contract connected to it, one run.
emulator_factory = sync_fixtures.emulator_factory
crm_server = sync_fixtures.crm_server
crm = sync_fixtures.crm
demo_contract = sync_fixtures.demo_contract
connected = sync_fixtures.connected
run_sync = sync_fixtures.run_sync


@pytest.fixture
def team(crm, connected, run_sync):
    """Zoe Zed and Yan Yu at Zeta Test Ltd, in the CRM and the network, with emails at another
    domain than the account's website, imported: both flagged. Zoe is on an open opportunity
    of Alex Morgan's (so Alex holds her as a Lead); Yan is nobody's Lead."""
    contacts = zeta_deal(crm, email_domain="old-employer.example")["contacts"]
    run = run_sync(connected)
    assert run.state == "succeeded", run.error_detail
    flags = {
        first: ContactFlag.objects.get(contact__crm_id=contact_id)
        for first, contact_id in contacts.items()
    }
    return {"contacts": contacts, "flags": flags}
