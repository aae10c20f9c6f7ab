"""Contract: counts over 5,000 rows are capped, and the client says so (Count rows using OData)."""

import pytest

from dynamics import RowCount
from tests.dynamics.contract_support import app_client

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def medium(emulator_factory):
    """An org with 20,000 contacts: more than Dataverse counts."""
    return emulator_factory(size="medium")


def test_a_count_over_the_limit_is_capped_and_says_so(medium):
    crm = app_client(medium)
    total = medium.counts()["contacts"]
    assert total > 5000
    count = crm.count("contacts")
    assert isinstance(count, RowCount)
    assert count == 5000 and count.capped is True
    assert crm.stats.requests == 1


def test_a_count_under_the_limit_is_exact(medium):
    crm = app_client(medium)
    count = crm.count("accounts", filter="name eq 'no such account'")
    assert count == 0 and count.capped is False
