"""Staff's Django admin for seats and contracts: searchable, with Seat Management's bulk actions."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.urls import reverse

from network.models import SavedAccount
from seats.models import AuditEntry, CrmSync, Seat
from sync.models import CrmUser, SeatCrmUser
from tests.factories import (
    CrmConnectionFactory,
    CrmUserFactory,
    SavedAccountFactory,
    SeatFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SEATS = reverse("admin:seats_seat_changelist")
CONTRACTS = reverse("admin:seats_contract_changelist")


@pytest.fixture
def staff(client):
    user = UserFactory(email="staff@crm-sync.test", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def _act(staff, action, seats, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [seat.pk for seat in seats], **extra}
    return staff.post(SEATS, data, follow=True)


def test_seats_are_searchable_and_filter_on_in_crm(staff, contract, seat_holder, admin):
    CrmConnectionFactory(contract=contract)
    SeatCrmUser.objects.create(
        seat=seat_holder, crm_user=CrmUserFactory(contract=contract, email="rep@contoso.test")
    )
    in_crm = staff.get(SEATS, {"in_crm": "yes"})
    assert [s.pk for s in in_crm.context["cl"].result_list] == [seat_holder.pk]
    found = staff.get(SEATS, {"q": "Contoso Test"})
    assert {s.pk for s in found.context["cl"].result_list} == {seat_holder.pk, admin.pk}


def test_contracts_are_searchable_and_show_seats_in_use(staff, contract, admin, admin_only):
    page = staff.get(CONTRACTS, {"q": "contoso"})
    assert [c.in_use for c in page.context["cl"].result_list] == [1]


def test_enable_crm_sync_action(staff, contract, seat_holder, outsider):
    _act(staff, "enable_crm_sync", [seat_holder, outsider])
    assert set(Seat.objects.filter(crm_sync=CrmSync.ON).values_list("pk", flat=True)) == {
        seat_holder.pk, outsider.pk,
    }  # fmt: skip
    assert AuditEntry.objects.filter(action="seat.crm_sync").count() == 2, "one per contract"


def test_disable_crm_sync_action_confirms_first(staff, contract, seat_holder):
    SavedAccountFactory.create_batch(2, seat=seat_holder, imported=True)
    confirmation = _act(staff, "disable_crm_sync", [seat_holder])
    assert "2 saved accounts imported from CRM are removed" in confirmation.content.decode()
    assert SavedAccount.objects.count() == 2
    _act(staff, "disable_crm_sync", [seat_holder], post="yes")
    assert Seat.objects.get(pk=seat_holder.pk).crm_sync == CrmSync.OFF
    assert SavedAccount.objects.count() == 0


def test_send_invitation_action_skips_people_with_a_password(
    staff, contract, seat_holder, django_capture_on_commit_callbacks
):
    invited = SeatFactory(contract=contract, user__email="new@contoso.test")
    invited.user.set_unusable_password()
    invited.user.save()
    with django_capture_on_commit_callbacks(execute=True):
        _act(staff, "send_invitation", [invited, seat_holder])
    assert [m.to for m in mail.outbox] == [["new@contoso.test"]]
    assert "http://testserver/accounts/password/reset/key/" in mail.outbox[0].body


def test_refresh_from_crm_action(crm_contract, staff, contract, outsider):
    """Each contract's CRM users are read again; one that is not connected is reported.

    Connecting (``crm_contract``) signs the test client in as the admin, so ``staff`` comes after.
    """
    staff.post(
        CONTRACTS,
        {"action": "refresh_crm_users", ACTION_CHECKBOX_NAME: [contract.pk, outsider.contract.pk]},
    )
    assert CrmUser.objects.filter(contract=contract, email="jordan.kim@contoso-demo.com").exists()
    page = staff.get(CONTRACTS).content.decode()
    assert "Contoso Test: read" in page
    assert "Fabrikam Test: Connect to CRM on Admin Settings &gt; CRM Settings first." in page
    assert AuditEntry.objects.filter(action="crm.users_refresh", contract=contract).exists()


def test_staff_cannot_demote_the_last_admin_in_the_django_admin(client, admin, seat_holder):
    from seats.models import Role

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:seats_seat_change", args=[admin.pk])
    response = client.post(
        url,
        {"contract": admin.contract_id, "user": admin.user_id, "role": Role.SEAT_HOLDER,
         "crm_sync": admin.crm_sync},
    )  # fmt: skip
    assert response.status_code == 200
    assert "last admin" in response.content.decode()
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN
