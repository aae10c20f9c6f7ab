"""*Enable CRM Sync* and *Disable CRM Sync*, per seat and in bulk, with auto sync Yes and No."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm_settings.models import CrmSettings
from network.models import SavedAccount, SavedLead
from seats.models import AuditEntry, CrmSync, Seat
from sync.models import SeatCrmUser
from sync.seat_selectors import seats_with_crm_state
from sync.tasks import SYNC_RUN
from tests.factories import (
    CrmConnectionFactory,
    CrmUserFactory,
    SavedAccountFactory,
    SavedLeadFactory,
    SeatFactory,
)

pytestmark = pytest.mark.django_db

ENABLE = reverse("seats:sync_enable")
DISABLE = reverse("seats:sync_disable")


def _connected(contract, *, auto_sync: bool):
    CrmConnectionFactory(contract=contract)
    CrmSettings.objects.create(contract=contract, auto_sync=auto_sync)


def _mapped(seat):
    crm_user = CrmUserFactory(contract=seat.contract, email=seat.user.email)
    SeatCrmUser.objects.create(seat=seat, crm_user=crm_user)
    return seat


def _in_crm(seat) -> bool:
    return seats_with_crm_state(Seat.objects.filter(pk=seat.pk)).get().in_crm


def _imported_saves(seat):
    """Two imported accounts, one imported lead, one lead also saved by hand, one own account."""
    now = timezone.now()
    SavedAccountFactory.create_batch(2, seat=seat, imported=True, imported_at=now)
    SavedLeadFactory(seat=seat, imported=True, imported_at=now)
    SavedLeadFactory(seat=seat, from_crm=True, imported_at=now)
    SavedAccountFactory(seat=seat)


# --- Auto sync Yes ------------------------------------------------------------------------------


def test_with_auto_sync_yes_a_mapped_seat_is_in_crm_until_disabled(
    login, contract, admin, seat_holder
):
    _connected(contract, auto_sync=True)
    _mapped(seat_holder)
    _imported_saves(seat_holder)
    assert _in_crm(seat_holder)
    client = login(admin)

    confirmation = client.get(DISABLE, {"seat": seat_holder.pk, "next": "/seats/?q=rep"})
    page = confirmation.content.decode()
    assert confirmation.status_code == 200
    assert "Disable CRM sync for <strong>" in page and "rep@contoso.test" in page
    assert 'removed</td><td class="num">2' in page  # accounts
    assert 'removed</td><td class="num">1' in page  # leads
    assert 'only lose the "from CRM" mark)</td><td class="num">1' in page
    assert SavedAccount.objects.filter(seat=seat_holder).count() == 3, "nothing removed on GET"

    response = client.post(
        DISABLE, {"seat": seat_holder.pk, "confirm": "yes", "next": "/seats/?q=rep"}
    )
    assert response.status_code == 302 and response.url == "/seats/?q=rep"
    seat_holder.refresh_from_db()
    assert seat_holder.crm_sync == CrmSync.OFF
    assert not _in_crm(seat_holder)
    assert SavedAccount.objects.filter(seat=seat_holder).count() == 1  # the own account
    kept = SavedLead.objects.get(seat=seat_holder)
    assert kept.saved_by_hand and not kept.from_crm
    entry = AuditEntry.objects.get(action="seat.crm_sync")
    assert entry.target == "rep@contoso.test"
    assert entry.before == {"crm_sync": {"rep@contoso.test": "default"}}
    assert entry.after == {"crm_sync": "off", "removed": {"accounts": 2, "leads": 1, "kept": 1}}


def test_with_auto_sync_yes_enabling_a_disabled_seat_brings_it_back(
    login, contract, admin, seat_holder, enqueued, django_capture_on_commit_callbacks
):
    _connected(contract, auto_sync=True)
    _mapped(seat_holder)
    Seat.objects.filter(pk=seat_holder.pk).update(crm_sync=CrmSync.OFF)
    with django_capture_on_commit_callbacks(execute=True):
        response = login(admin).post(ENABLE, {"seat": seat_holder.pk, "confirm": "yes"})
    assert response.status_code == 302
    assert _in_crm(seat_holder)
    assert enqueued == [(SYNC_RUN, contract.pk, "seats")]


# --- Auto sync No -------------------------------------------------------------------------------


def test_with_auto_sync_no_seats_are_off_until_enabled(
    login, contract, admin, seat_holder, enqueued, django_capture_on_commit_callbacks
):
    _connected(contract, auto_sync=False)
    _mapped(seat_holder)
    assert not _in_crm(seat_holder)
    page = login(admin).get(reverse("seats:list")).content.decode()
    assert "Enable CRM Sync</a>" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = login(admin).post(
            ENABLE, {"seat": seat_holder.pk, "confirm": "yes"}, follow=True
        )
    assert "CRM sync enabled for 1 seat." in response.content.decode()
    seat_holder.refresh_from_db()
    assert seat_holder.crm_sync == CrmSync.ON
    assert _in_crm(seat_holder)
    assert enqueued == [(SYNC_RUN, contract.pk, "seats")]


def test_with_auto_sync_no_disabling_a_seat_never_enabled_still_clears_its_imports(
    login, contract, admin, seat_holder
):
    _connected(contract, auto_sync=False)
    _imported_saves(seat_holder)
    login(admin).post(DISABLE, {"seat": seat_holder.pk, "confirm": "yes"})
    assert not SavedAccount.objects.filter(seat=seat_holder, from_crm=True).exists()
    assert Seat.objects.get(pk=seat_holder.pk).crm_sync == CrmSync.OFF


# --- In bulk ------------------------------------------------------------------------------------


def test_bulk_enable_turns_on_the_ticked_seats_and_skips_admin_only(
    login, contract, admin, admin_only, seat_holder, enqueued, django_capture_on_commit_callbacks
):
    _connected(contract, auto_sync=False)
    other = SeatFactory(contract=contract)
    untouched = SeatFactory(contract=contract)
    with django_capture_on_commit_callbacks(execute=True):
        response = login(admin).post(
            ENABLE,
            {"seat": [seat_holder.pk, other.pk, admin_only.pk], "confirm": "yes"},
            follow=True,
        )
    page = response.content.decode()
    assert "CRM sync enabled for 2 seats." in page
    assert "2 seats Not Matched to a CRM user" in page
    assert "1 seat Admin only: nothing to sync." in page
    on = set(Seat.objects.filter(crm_sync=CrmSync.ON).values_list("pk", flat=True))
    assert on == {seat_holder.pk, other.pk}
    assert Seat.objects.get(pk=untouched.pk).crm_sync == CrmSync.DEFAULT
    assert len(enqueued) == 1, "one import for the whole batch"


def test_bulk_disable_of_all_matching_seats_confirms_the_totals_first(
    login, contract, admin, seat_holder
):
    _connected(contract, auto_sync=True)
    others = SeatFactory.create_batch(3, contract=contract, user__last_name="Zed")
    for seat in [seat_holder, *others]:
        _imported_saves(seat)
    selection = {"scope": "all", "q": "Zed", "next": "/seats/?q=Zed"}
    client = login(admin)

    page = client.post(DISABLE, selection).content.decode()
    assert "Disable CRM sync for <strong>3 seats</strong>?" in page
    assert 'removed</td><td class="num">6' in page
    assert '<input type="hidden" name="scope" value="all">' in page
    assert Seat.objects.filter(crm_sync=CrmSync.OFF).count() == 0

    client.post(DISABLE, {**selection, "confirm": "yes"})
    off = set(Seat.objects.filter(crm_sync=CrmSync.OFF).values_list("pk", flat=True))
    assert off == {seat.pk for seat in others}
    assert SavedAccount.objects.filter(seat=seat_holder, from_crm=True).count() == 2
    assert not SavedAccount.objects.filter(seat__in=others, from_crm=True).exists()


def test_bulk_enable_of_all_matching_seats_follows_the_filters(login, contract, admin):
    _connected(contract, auto_sync=False)
    SeatFactory.create_batch(3, contract=contract, role="seat_holder")
    login(admin).post(ENABLE, {"scope": "all", "role": "seat_holder", "confirm": "yes"})
    assert set(Seat.objects.values_list("role", "crm_sync")) == {
        ("seat_holder", "on"), ("admin", "default"),
    }  # fmt: skip


def test_nothing_selected_is_a_notice(login, admin):
    response = login(admin).post(ENABLE, {}, follow=True)
    assert "Select the seats to enable CRM sync for." in response.content.decode()


# --- Access -------------------------------------------------------------------------------------


def test_changes_are_post_only_and_need_the_csrf_token(login, admin, seat_holder):
    # A GET (or a POST without confirm) only shows what enabling would import.
    assert login(admin).get(ENABLE, {"seat": seat_holder.pk, "confirm": "yes"}).status_code == 200
    assert login(admin).post(ENABLE, {"seat": seat_holder.pk}).status_code == 200
    assert Seat.objects.get(pk=seat_holder.pk).crm_sync == CrmSync.DEFAULT
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin.user)
    assert strict.post(ENABLE, {"seat": seat_holder.pk, "confirm": "yes"}).status_code == 403
    assert strict.post(DISABLE, {"seat": seat_holder.pk, "confirm": "yes"}).status_code == 403
    assert Seat.objects.get(pk=seat_holder.pk).crm_sync == CrmSync.DEFAULT


def test_it_refuses_a_foreign_seat(login, admin, outsider):
    client = login(outsider)
    assert client.post(ENABLE, {"seat": admin.pk}).status_code == 404
    assert client.get(DISABLE, {"seat": admin.pk}).status_code == 404
    assert client.post(DISABLE, {"seat": admin.pk, "confirm": "yes"}).status_code == 404
    assert client.post(ENABLE, {"seat": "x"}).status_code == 404
    assert Seat.objects.get(pk=admin.pk).crm_sync == CrmSync.DEFAULT


def test_it_refuses_seat_holders(login, seat_holder):
    client = login(seat_holder)
    assert client.post(ENABLE, {"seat": seat_holder.pk, "confirm": "yes"}).status_code == 403
    assert client.get(DISABLE, {"seat": seat_holder.pk}).status_code == 403


def test_all_matching_never_reaches_another_contract(login, admin, outsider):
    login(outsider).post(ENABLE, {"scope": "all", "confirm": "yes"})
    assert Seat.objects.get(pk=admin.pk).crm_sync == CrmSync.DEFAULT
    assert Seat.objects.get(pk=outsider.pk).crm_sync == CrmSync.ON


def test_an_outside_next_is_not_followed(login, admin, seat_holder):
    response = login(admin).post(
        ENABLE, {"seat": seat_holder.pk, "next": "https://evil.test/", "confirm": "yes"}
    )
    assert response.url == reverse("seats:list")
