"""The audit trail for contract admins: each change in words with before and after, staff's
changes included, filtered, paged and exported."""

import csv
import io
from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from crm_settings.services import sync_settings_update
from reports.audit import audit_line
from seats.models import AuditEntry, Role
from seats.services import audit_record, seat_change_role
from tests.factories import CrmConnectionFactory, CrmSettingsFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGE = reverse("reports:audit")
CSV = reverse("reports:audit_csv")


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def _entry(**values) -> AuditEntry:
    return AuditEntry(**{"action": "", "target": "", "before": {}, "after": {}, **values})


class TestInWords:
    def test_settings_are_named_as_on_crm_settings(self):
        line = audit_line(
            _entry(
                action="crm.settings",
                before={"auto_sync": True, "sync_interval_minutes": 15},
                after={"auto_sync": False, "sync_interval_minutes": 30},
            )
        )
        assert line.summary == "Changed the CRM settings"
        assert [str(c) for c in line.changes] == [
            "Auto sync all seat holders with CRM?: Yes → No",
            "Sync every (minutes): 15 → 30",
        ]

    def test_a_stage_and_a_won_field_show_their_labels_once(self):
        line = audit_line(
            _entry(
                action="crm.settings",
                before={
                    "pipeline_stage": None,
                    "pipeline_stage_label": "",
                    "won_value_column": "",
                    "won_value_label": "",
                },
                after={
                    "pipeline_stage": 2,
                    "pipeline_stage_label": "Propose",
                    "won_value_column": "new_wonamount",
                    "won_value_label": "Won Amount",
                },
            )  # fmt: skip
        )
        assert [str(c) for c in line.changes] == [
            "At which stage does your sales team consider an opportunity to enter your "
            "pipeline?: Not Sure → Propose",
            "Where do you store the value for a won opportunity?: Not Sure → Won Amount "
            "(new_wonamount)",
        ]

    def test_seat_changes_name_the_person_and_the_roles(self):
        line = audit_line(
            _entry(
                action="seat.role",
                target="rep@contoso.test",
                before={"role": Role.SEAT_HOLDER},
                after={"role": Role.ADMIN},
            )
        )
        assert line.summary == "Changed the role of rep@contoso.test"
        assert line.changes_text == "Role: Seat holder → Admin"

    def test_crm_sync_for_several_seats(self):
        line = audit_line(
            _entry(
                action="seat.crm_sync",
                target="2 seats",
                before={"crm_sync": {"b@x.test": "default", "a@x.test": "on"}},
                after={"crm_sync": "off", "removed": {"accounts": 3, "leads": 1, "kept": 0}},
            )
        )
        assert line.summary == "Disabled CRM Sync for 2 seats"
        assert [str(c) for c in line.changes] == [
            "a@x.test: Enabled → Disabled",
            "b@x.test: Follow the contract's auto sync → Disabled",
            "Imported saves removed: accounts 3, leads 1, kept 0",
        ]

    def test_a_disconnect_says_whether_the_data_was_cleaned_up(self):
        kept = audit_line(_entry(action="crm.disconnect", target="https://x.test",
                                 after={"purged": False}))  # fmt: skip
        purged = audit_line(_entry(action="crm.disconnect", after={"purged": {"CRM contacts": 4}}))
        assert (
            kept.summary == "Disconnected CRM Sync from https://x.test, keeping the imported data"
        )
        assert purged.summary == "Disconnected CRM Sync and cleaned up the imported data"
        assert purged.changes_text == "CRM contacts: 4"

    def test_a_pause_and_a_resume(self):
        paused = audit_line(
            _entry(action="crm.sync.paused", after={"failures": 5, "error_kind": "connect"})
        )
        resumed = audit_line(
            _entry(action="crm.writeback.resume", before={"failures": 5}, after={"failures": 0})
        )
        assert paused.summary == "The sync paused itself after 5 failures in a row"
        assert (resumed.summary, resumed.changes_text) == (
            "Resumed writeback",
            "Failures in a row: 5 → 0",
        )

    def test_alert_preferences_read_as_words(self):
        line = audit_line(
            _entry(
                action="alerts.preferences",
                target="admin@x.test",
                before={"muted_kinds": [], "daily_digest": False},
                after={"muted_kinds": ["sync_failed"], "daily_digest": True},
            )
        )
        assert line.summary == "Changed the alert emails of admin@x.test"
        assert line.changes_text == "Alerts not emailed: none → sync failed; Daily digest: No → Yes"

    def test_an_unknown_code_is_shown_not_hidden(self):
        line = audit_line(_entry(action="crm.future", target="x", after={"new_thing": 1}))
        assert (line.summary, line.changes_text) == ("crm.future x", "New thing: 1")


def test_the_page_lists_the_contracts_changes_newest_first(login, admin, seat_holder, contract):
    with time_machine.travel(datetime(2026, 3, 1, 9, tzinfo=UTC)):
        seat_change_role(seat=seat_holder, role=Role.ADMIN, by=admin.user)
    with time_machine.travel(datetime(2026, 3, 2, 9, tzinfo=UTC)):
        CrmSettingsFactory(contract=contract)
        sync_settings_update(
            contract=contract, values={"sync_interval_minutes": 60}, stage_options=[],
            by=admin.user,
        )  # fmt: skip

    page = login(admin).get(PAGE).content.decode()

    assert page.index("Changed the CRM settings") < page.index("Changed the role of rep@")
    assert "Sync every (minutes): 15 → 60" in page
    assert "Role: Seat holder → Admin" in page


def test_a_staff_edit_in_the_django_admin_is_in_the_trail(client, login, admin, contract):
    CrmConnectionFactory(contract=contract)
    settings = CrmSettingsFactory(contract=contract)
    staff = UserFactory(email="support@crm-sync.test", is_staff=True, is_superuser=True)
    client.force_login(staff)
    client.post(
        reverse("admin:crm_settings_crmsettings_change", args=[settings.pk]),
        {"auto_sync": "on", "sync_interval_minutes": "45", "pause_after_failures": "5",
         "writeback_all": "on",
         "writeback_inmails": "on", "writeback_messages": "on", "writeback_notes": "on"},
    )  # fmt: skip

    rows = login(admin).get(PAGE).context["rows"]

    assert [(e.actor_label, line.changes_text) for e, line in rows] == [
        ("support@crm-sync.test", "Sync every (minutes): 15 → 45")
    ]


def test_another_contracts_changes_are_never_shown(login, admin, outsider):
    audit_record(contract=outsider.contract, actor=outsider.user, action="crm.settings")
    audit_record(contract=None, actor=None, action="contract.create", target="Somewhere")

    response = login(admin).get(PAGE)

    assert response.context["rows"] == []
    assert _csv(login(admin).get(CSV)) == []


def test_it_filters_by_change_person_and_dates(login, admin, contract, seat_holder):
    for day, action, who in ((1, "seat.role", "rep@contoso.test"), (5, "crm.settings", "")):
        with time_machine.travel(datetime(2026, 3, day, 9, tzinfo=UTC)):
            audit_record(contract=contract, actor=admin.user, action=action, target=who)
    client = login(admin)

    def actions(**query):
        return [e.action for e, _ in client.get(PAGE, query).context["rows"]]

    assert actions(action="seat.role") == ["seat.role"]
    assert actions(q="rep@") == ["seat.role"]
    assert actions(since="2026-03-02") == ["crm.settings"]
    assert actions(until="2026-03-01") == ["seat.role"]
    assert actions(q="admin@contoso") == ["crm.settings", "seat.role"]


def test_bad_filters_get_a_message(login, admin):
    client = login(admin)
    swapped = client.get(PAGE, {"since": "2026-03-05", "until": "2026-03-01"})
    assert "The first day comes after the last" in swapped.content.decode()
    assert "Select a valid choice" in client.get(PAGE, {"action": "x"}).content.decode()
    assert "Enter a valid date" in client.get(PAGE, {"since": "yesterday"}).content.decode()
    refused = client.get(CSV, {"since": "yesterday"}, follow=True)
    assert "Enter a valid date" in refused.content.decode()


def test_the_csv_has_the_sentence_and_the_changes(login, admin, contract, seat_holder):
    with time_machine.travel(datetime(2026, 3, 1, 9, 30, tzinfo=UTC)):
        seat_change_role(seat=seat_holder, role=Role.ADMIN, by=admin.user)

    response = login(admin).get(CSV)

    assert "audit-trail" in response["Content-Disposition"]
    assert _csv(response) == [
        {
            "When (UTC)": "2026-03-01T09:30:00+00:00",
            "Who": "admin@contoso.test",
            "Action": "seat.role",
            "What": "Changed the role of rep@contoso.test",
            "Changes": "Role: Seat holder → Admin",
        }
    ]


@pytest.mark.parametrize("size", [3, 80])
def test_the_page_costs_the_same_queries_at_any_size(
    login, admin, contract, size, django_assert_max_num_queries
):
    for n in range(size):
        audit_record(contract=contract, actor=admin.user, action="seat.role",
                     target=f"p{n}@x.test", before={"role": "seat_holder"},
                     after={"role": "admin"})  # fmt: skip
    client = login(admin)
    # Session, user, seat; the entries counted and paged.
    with django_assert_max_num_queries(5):
        client.get(PAGE)
    with django_assert_max_num_queries(4):
        assert len(_csv(client.get(CSV))) == size
