"""*Disconnect CRM Sync*, with and without *Yes, clean up all previously imported CRM data*."""

import pytest
from django.urls import reverse

from crm_settings.models import CrmConnection
from network.models import SavedAccount, SavedLead
from seats.models import AuditEntry
from sync.models import CrmAccount, CrmContact, CrmOpportunity, CrmUser, SeatCrmUser
from tests.factories import (
    CrmAccountFactory,
    CrmConnectionFactory,
    CrmContactFactory,
    CrmOpportunityFactory,
    CrmUserFactory,
    SavedAccountFactory,
    SavedLeadFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(contract, seat_holder, outsider):
    """A connected contract with imported rows, hand-made saves, and another contract's rows."""
    CrmConnectionFactory(contract=contract)
    crm_user = CrmUserFactory(contract=contract, email="rep@contoso.test")
    SeatCrmUser.objects.create(seat=seat_holder, crm_user=crm_user)
    CrmAccountFactory.create_batch(3, contract=contract)
    CrmContactFactory.create_batch(4, contract=contract)
    CrmOpportunityFactory.create_batch(2, contract=contract)
    SavedAccountFactory.create_batch(2, seat=seat_holder, imported=True)
    SavedLeadFactory.create_batch(3, seat=seat_holder, imported=True)
    SavedAccountFactory(seat=seat_holder)  # saved by hand
    SavedLeadFactory(seat=seat_holder, from_crm=True)  # by hand and imported
    # Another contract's imported data, which must survive.
    CrmAccountFactory(contract=outsider.contract)
    SavedAccountFactory(seat=outsider, imported=True)


def _counts(contract):
    return {
        "accounts": CrmAccount.objects.filter(contract=contract).count(),
        "contacts": CrmContact.objects.filter(contract=contract).count(),
        "opportunities": CrmOpportunity.objects.filter(contract=contract).count(),
        "users": CrmUser.objects.filter(contract=contract).count(),
        "saved_accounts": SavedAccount.objects.filter(seat__contract=contract).count(),
        "saved_leads": SavedLead.objects.filter(seat__contract=contract).count(),
        "marks": SeatCrmUser.objects.filter(seat__contract=contract).count(),
        "connected": CrmConnection.objects.filter(contract=contract).count(),
    }


def test_the_confirmation_shows_what_would_be_deleted(login, admin, imported):
    page = login(admin).get(reverse("crm_settings:disconnect")).content.decode()
    assert "Yes, clean up all previously imported CRM data" in page
    assert 'Saved accounts imported from CRM</td><td class="num">2' in page
    assert 'Saved leads imported from CRM</td><td class="num">3' in page
    assert 'CRM contacts</td><td class="num">4' in page


def test_disconnect_without_clean_up_keeps_the_data(login, admin, contract, imported):
    before = _counts(contract)
    response = login(admin).post(reverse("crm_settings:disconnect"), {})
    assert response.status_code == 302
    after = _counts(contract)
    assert after == {**before, "connected": 0}
    assert AuditEntry.objects.get(action="crm.disconnect").after == {"purged": False}


def test_disconnect_with_clean_up_deletes_only_imported_rows(
    login, admin, contract, outsider, imported
):
    response = login(admin).post(reverse("crm_settings:disconnect"), {"purge": "on"})
    assert response.status_code == 302
    assert _counts(contract) == {
        "accounts": 0, "contacts": 0, "opportunities": 0, "users": 0,
        "saved_accounts": 1, "saved_leads": 1, "marks": 0, "connected": 0,
    }  # fmt: skip
    kept = SavedLead.objects.get(seat__contract=contract)
    assert kept.saved_by_hand and not kept.from_crm
    assert CrmAccount.objects.filter(contract=outsider.contract).count() == 1
    assert SavedAccount.objects.filter(seat=outsider).count() == 1
    entry = AuditEntry.objects.get(action="crm.disconnect")
    assert entry.after["purged"]["CRM contacts"] == 4


def test_seat_holders_cannot_disconnect(login, seat_holder, contract, imported):
    response = login(seat_holder).post(reverse("crm_settings:disconnect"), {"purge": "on"})
    assert response.status_code == 403
    assert CrmConnection.objects.filter(contract=contract).exists()


def test_another_contracts_admin_disconnects_only_their_own(login, outsider, contract, imported):
    login(outsider).post(reverse("crm_settings:disconnect"), {"purge": "on"})
    assert CrmConnection.objects.filter(contract=contract).exists()
    assert CrmAccount.objects.filter(contract=contract).count() == 3
