"""Fixtures for the writeback tests: a contract that copies everything, and a member to write to."""

import pytest

from tests.factories import CrmSettingsFactory, MemberFactory


@pytest.fixture
def writeback_on(contract):
    """The contract copies every item type to the CRM ("Sync back all data items")."""
    return CrmSettingsFactory(contract=contract, writeback=True)


@pytest.fixture
def member(db):
    return MemberFactory(first_name="Jane", last_name="Doe", company__name="Northwind")
