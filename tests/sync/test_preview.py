"""The preview (dry run) of the import against the emulator's demo org: each what-if counts what
the real run then does, seat by seat and kind by kind, and the preview changes nothing, in the
portal or in Dynamics.

Each equal-counts test: an import (the baseline), the preview of a change, the change made
through its own service, the import again; the preview's figures are compared with the saves
before and after that run.
"""

import pytest

import demodata
from crm_settings.models import CrmConnection, CrmSettings
from crm_settings.selectors import crm_settings_get
from crm_settings.services import sync_settings_update
from network.models import Company, Member, SavedAccount, SavedLead
from seats.models import AuditEntry, CrmSync, Seat, User
from sync.evaluate import new_seat_id
from sync.models import (
    CrmAccount,
    CrmContact,
    CrmCurrency,
    CrmOpportunity,
    CrmUser,
    SeatCrmUser,
    SyncCursor,
    SyncRun,
)
from sync.preview import saves_preview
from sync.seat_services import seats_assign_from_crm, seats_sync_disable, seats_sync_enable
from tests.factories import SavedAccountFactory
from tests.sync.conftest import ADMIN_EMAIL

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]
STAGE_OPTIONS = [{"value": value, "label": label} for value, label in demodata.SALES_STAGES]
ALEX = "alex.morgan@contoso-demo.com"
JORDAN = "jordan.kim@contoso-demo.com"
KINDS = {"accounts": (SavedAccount, "company_id"), "leads": (SavedLead, "member_id")}


def _saves(contract) -> dict[str, set[tuple[int, int]]]:
    """Every imported save of the contract: kind -> {(seat, company or member)}."""
    return {
        kind: set(
            model.objects.filter(seat__contract=contract, from_crm=True).values_list(
                "seat_id", target
            )
        )
        for kind, (model, target) in KINDS.items()
    }


def _what_the_run_did(before, after) -> dict[int, dict[str, int]]:
    """Per seat, the imported saves the run added and removed, per kind (seats with none left
    out)."""
    did: dict[int, dict[str, int]] = {}
    for kind in KINDS:
        for move, rows in (
            ("added", after[kind] - before[kind]),
            ("removed", before[kind] - after[kind]),
        ):
            for seat_id, _ in rows:
                counts = did.setdefault(seat_id, {})
                counts[f"{kind}_{move}"] = counts.get(f"{kind}_{move}", 0) + 1
    return did


def _what_the_preview_said(preview, seat_ids=None) -> dict[int, dict[str, int]]:
    seat_ids = seat_ids or {}
    said = {}
    for seat in preview.seats:
        counts = {
            key: value for key, value in seat.counts.items() if value and not key.endswith("_kept")
        }
        if counts:
            said[seat_ids.get(seat.seat_id, seat.seat_id)] = counts
    return said


def _run_and_compare(contract, run_sync, preview, seat_ids=None):
    before = _saves(contract)
    run = run_sync(contract)
    assert run.state == SyncRun.State.SUCCEEDED, run.error_detail
    did = _what_the_run_did(before, _saves(contract))
    assert did, "the change should change something"
    assert _what_the_preview_said(preview, seat_ids) == did
    # And the totals the run recorded.
    saves = run.counts["saves"]
    for kind in KINDS:
        assert preview.totals[f"{kind}_added"] == sum(
            c.get(f"{kind}_added", 0) for c in did.values()
        )
        assert saves[f"{kind}_added"] == preview.totals[f"{kind}_added"]
    return run


def _admin(contract) -> User:
    return contract.seats.get(user__email=ADMIN_EMAIL).user


def _stage(contract, value, label):
    sync_settings_update(
        contract=contract,
        values={"pipeline_stage": value, "pipeline_stage_label": label},
        stage_options=STAGE_OPTIONS if value is not None else [],
        by=_admin(contract),
    )


def test_a_later_stage_then_not_sure_again_equal_counts(connected, run_sync):
    run_sync(connected)
    preview = saves_preview(contract=connected, stage=(2, STAGE_OPTIONS))
    assert preview.totals["accounts_removed"] > 0 and preview.totals["leads_removed"] > 0
    assert preview.totals["accounts_added"] == preview.totals["leads_added"] == 0
    _stage(connected, 2, "Propose")
    _run_and_compare(connected, run_sync, preview)

    preview = saves_preview(contract=connected, stage=(None, []))
    assert preview.totals["accounts_added"] > 0 and preview.removed == 0
    _stage(connected, None, "")
    _run_and_compare(connected, run_sync, preview)


def test_the_auto_sync_answer_equal_counts(connected, run_sync):
    run_sync(connected)
    preview = saves_preview(contract=connected, auto_sync=False)
    # Every seat follows the answer, so with No every imported save would go.
    everything = _saves(connected)
    assert preview.totals["accounts_removed"] == len(everything["accounts"]) > 0
    assert preview.totals["leads_removed"] == len(everything["leads"]) > 0
    sync_settings_update(
        contract=connected, values={"auto_sync": False}, stage_options=[], by=_admin(connected)
    )
    _run_and_compare(connected, run_sync, preview)

    preview = saves_preview(contract=connected, auto_sync=True)
    sync_settings_update(
        contract=connected, values={"auto_sync": True}, stage_options=[], by=_admin(connected)
    )
    _run_and_compare(connected, run_sync, preview)


def test_a_stage_and_an_answer_together(connected, run_sync):
    """Both what-ifs at once: the gate narrows for everyone while one seat turns on."""
    run_sync(connected)
    alex = Seat.objects.get(user__email=ALEX)
    seats_sync_disable(contract=connected, seats=Seat.objects.filter(pk=alex.pk), by=None)
    preview = saves_preview(contract=connected, stage=(1, STAGE_OPTIONS), seat_sync={alex.pk: True})
    assert preview.totals["accounts_added"] > 0 and preview.totals["accounts_removed"] > 0
    _stage(connected, 1, "Develop")
    seats_sync_enable(contract=connected, seats=Seat.objects.filter(pk=alex.pk), by=None)
    _run_and_compare(connected, run_sync, preview)


def test_disabling_a_seat_previews_what_disable_removes(connected, run_sync):
    run_sync(connected)
    alex = Seat.objects.get(user__email=ALEX)
    # A save Alex also made by hand is kept and only loses the mark.
    hand = SavedAccount.objects.filter(seat=alex, from_crm=True).first()
    hand.saved_by_hand = True
    hand.save()
    preview = saves_preview(contract=connected, seat_sync={alex.pk: False})
    assert [seat.seat_id for seat in preview.seats] == [alex.pk]
    counts = preview.seats[0].counts
    change = seats_sync_disable(contract=connected, seats=Seat.objects.filter(pk=alex.pk), by=None)
    assert change.removed == {
        "accounts": counts["accounts_removed"],
        "leads": counts["leads_removed"],
        "kept": counts["accounts_kept"] + counts["leads_kept"],
    }
    assert counts["accounts_kept"] == 1 and counts["leads_removed"] > 0
    # And the import then leaves Alex's saves alone, as the preview of "nothing" says.
    assert not saves_preview(contract=connected).changes
    before = _saves(connected)
    run_sync(connected)
    assert _saves(connected) == before


def test_enabling_a_seat_equal_counts(connected, run_sync):
    alex = Seat.objects.get(user__email=ALEX)
    alex.crm_sync = CrmSync.OFF
    alex.save()
    run_sync(connected)
    preview = saves_preview(contract=connected, seat_sync={alex.pk: True})
    assert [seat.email for seat in preview.seats] == [ALEX]
    assert preview.sample("accounts", "added")
    assert {s.seat_name for s in preview.samples} == {alex.user.display_name}
    seats_sync_enable(contract=connected, seats=Seat.objects.filter(pk=alex.pk), by=None)
    _run_and_compare(connected, run_sync, preview)


def test_a_new_seat_from_crm_equal_counts(connected, run_sync):
    """*Assign seats from CRM*: what Jordan Kim (who owns deals but holds no seat) would get on
    the first import, then the seat assigned and that import run."""
    run_sync(connected)
    jordan = CrmUser.objects.get(contract=connected, email=JORDAN)
    preview = saves_preview(contract=connected, new_seats_for=[jordan.pk])
    assert [(seat.email, seat.new) for seat in preview.seats] == [(JORDAN, True)]
    assert preview.seats[0].counts["accounts_added"] > 0
    result = seats_assign_from_crm(
        contract=connected,
        crm_users=CrmUser.objects.filter(pk=jordan.pk),
        by=_admin(connected),
        base_url="http://testserver/",
    )
    (seat,) = result.created
    _run_and_compare(connected, run_sync, preview, seat_ids={new_seat_id(jordan.pk): seat.pk})


def test_a_new_seat_gets_nothing_while_auto_sync_is_off(connected, run_sync):
    run_sync(connected)
    settings = crm_settings_get(contract=connected)
    settings.auto_sync = False
    settings.save()
    jordan = CrmUser.objects.get(contract=connected, email=JORDAN)
    preview = saves_preview(contract=connected, new_seats_for=[jordan.pk])
    assert not any(seat.new for seat in preview.seats)


def test_a_first_connection_previews_nothing_before_the_mirror_is_read(connected):
    """Before the first import the mirror is empty: the preview says so rather than guess."""
    preview = saves_preview(contract=connected)
    assert not preview.changes
    assert preview.summary.startswith("Nothing would change")


def test_the_summary_and_sample(connected, run_sync):
    run_sync(connected)
    preview = saves_preview(contract=connected, stage=(3, STAGE_OPTIONS))
    removed = preview.totals["accounts_removed"] + preview.totals["leads_removed"]
    assert preview.summary == (
        f"0 Accounts and 0 Leads would be added, {removed} removed, "
        f"for {len(preview.seats)} seat holders."
    )
    names = set(Company.objects.values_list("name", flat=True))
    people = {m.full_name for m in Member.objects.all()}
    sample = preview.sample("accounts", "removed")
    assert 0 < len(sample) <= 10 and {s.name for s in sample} <= names
    assert {s.name for s in preview.sample("leads", "removed")} <= people
    assert [s.name for s in sample] == sorted(s.name for s in sample)


# --- read-only --------------------------------------------------------------------------------

# Every table a preview could touch: the saves, the seats and their sync, the settings, the
# mirror, the runs and the audit trail.
WATCHED = [
    SavedAccount, SavedLead, Seat, SeatCrmUser, CrmSettings, CrmConnection, CrmUser,
    CrmCurrency, CrmAccount, CrmContact, CrmOpportunity, SyncCursor, SyncRun, AuditEntry,
    Company, Member,
]  # fmt: skip


def _portal_state() -> dict:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in WATCHED}


def test_a_preview_changes_nothing_in_the_portal_or_in_dynamics(connected, crm, run_sync):
    run_sync(connected)
    SavedAccountFactory(seat=Seat.objects.get(user__email=ALEX))  # one hand-made save too
    alex = Seat.objects.get(user__email=ALEX)
    jordan = CrmUser.objects.get(contract=connected, email=JORDAN)
    before = _portal_state()
    crm.reset_stats()
    for what_if in (
        {"stage": (3, STAGE_OPTIONS)},
        {"stage": (1, STAGE_OPTIONS)},
        {"auto_sync": False},
        {"seat_sync": {alex.pk: False}},
        {"seat_sync": {alex.pk: True}, "new_seats_for": [jordan.pk]},
    ):
        assert saves_preview(contract=connected, **what_if).changes
    # Nothing but this test's own control calls reached the emulator: no API, no sign-in.
    assert set(crm.stats()["by_kind"]) <= {"control"}
    assert _portal_state() == before


def test_a_preview_costs_a_fixed_number_of_queries(
    connected, run_sync, django_assert_max_num_queries
):
    run_sync(connected)
    with django_assert_max_num_queries(24):
        saves_preview(contract=connected, stage=(3, STAGE_OPTIONS))
