"""The org's choices on CRM Settings (stages, money fields, the LinkedIn app): stored at connect,
read again by *Refresh from CRM*, the daily schedule and an import that finds none, never on a
page view; the save form checks answers against the stored set."""

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_q.models import Schedule

from crm_settings.models import CrmConnection, CrmSettings
from crm_settings.tasks import CRM_CHOICES_REFRESH_DUE, crm_choices_refresh_due
from portal.schedules import SCHEDULES, install_schedules
from seats.models import AuditEntry
from sync.tasks import sync_run
from tests.factories import CrmConnectionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]

INDEX = "crm_settings:index"
REFRESH = "crm_settings:refresh_choices"
SAVE = "crm_settings:save_sync_settings"
SEEDED_STAGES = [
    {"value": 0, "label": "Qualify"},
    {"value": 1, "label": "Develop"},
    {"value": 2, "label": "Propose"},
    {"value": 3, "label": "Close"},
]
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@pytest.fixture
def stages(dynamics):
    """Change the emulator's sales stages as a Dynamics admin would; restored afterwards."""

    def change(options):
        return dynamics.set_options("opportunity", "salesstage", options)

    yield change
    dynamics.reset_options("opportunity", "salesstage")


def _connection(contract) -> CrmConnection:
    return CrmConnection.objects.get(contract=contract)


def _forget_choices(contract) -> None:
    """Make the connection look like one saved before the org's choices were stored."""
    CrmConnection.objects.filter(contract=contract).update(
        stage_options=[], money_columns=[], choices_read_at=None
    )


def _answers(**changes) -> dict:
    return {"auto_sync": "yes", "pipeline_stage": "not_sure", "won_value_column": "not_sure",
            "sync_interval_minutes": "15", "confirm": "yes"} | changes  # fmt: skip


def test_opening_crm_settings_asks_the_crm_nothing_and_writes_nothing(
    crm_contract, client, dynamics
):
    client.get(reverse(INDEX))  # anything a first visit sets up is done
    dynamics.reset_stats()
    with CaptureQueriesContext(db_connection) as queries:
        response = client.get(reverse(INDEX))
    assert response.status_code == 200
    page = response.content.decode()
    for label in ("Qualify", "Develop", "Propose", "Close", "Won Amount"):
        assert label in page
    assert "Refresh from CRM" in page
    stats = dynamics.stats()
    assert stats["requests"] - stats["by_kind"].get("control", 0) == 0, stats["by_kind"]
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]
    assert writes == []


def test_refresh_from_crm_picks_up_a_stage_added_in_the_crm(crm_contract, client, stages):
    stages([*SEEDED_STAGES[:3], {"value": 7, "label": "Negotiate"}, SEEDED_STAGES[3]])
    assert "Negotiate" not in client.get(reverse(INDEX)).content.decode()  # stored, not live
    refused = client.post(reverse(SAVE), _answers(pipeline_stage="7"))
    assert refused.status_code == 400
    assert "7 is not one of your CRM&#x27;s sales stages as last read from it." in (
        refused.content.decode()
    )

    response = client.post(reverse(REFRESH))
    assert response.status_code == 302
    page = client.get(reverse(INDEX)).content.decode()
    assert '<option value="7">Negotiate</option>' in page
    assert client.post(reverse(SAVE), _answers(pipeline_stage="7")).status_code == 302
    saved = CrmSettings.objects.get(contract=crm_contract)
    assert (saved.pipeline_stage, saved.pipeline_stage_label) == (7, "Negotiate")
    assert [o["label"] for o in saved.pipeline_stage_options] == [
        "Qualify", "Develop", "Propose", "Negotiate", "Close",
    ]  # fmt: skip
    assert saved.stage_rank(3) > saved.stage_rank(7)  # the CRM's order, not the values'
    entry = AuditEntry.objects.get(contract=crm_contract, action="crm.choices_refresh")
    assert entry.after["stages"] == 5


def test_a_stage_removed_in_the_crm_is_refused_by_the_save_form(crm_contract, client, stages):
    assert client.post(reverse(SAVE), _answers(pipeline_stage="3")).status_code == 302
    stages(SEEDED_STAGES[:3])
    client.post(reverse(REFRESH))

    page = client.get(reverse(INDEX)).content.decode()
    assert '<option value="3" selected>Close (no longer in your CRM)</option>' in page
    response = client.post(reverse(SAVE), _answers(pipeline_stage="3", auto_sync="no"))
    assert response.status_code == 400
    assert "Close is no longer one of your CRM&#x27;s sales stages" in response.content.decode()
    saved = CrmSettings.objects.get(contract=crm_contract)
    assert (saved.pipeline_stage, saved.auto_sync) == (3, True)

    assert client.post(reverse(SAVE), _answers(pipeline_stage="2")).status_code == 302
    saved.refresh_from_db()
    assert (saved.pipeline_stage, saved.pipeline_stage_label) == (2, "Propose")
    assert "no longer in your CRM" not in client.get(reverse(INDEX)).content.decode()


def test_a_money_field_no_longer_stored_is_refused_by_the_save_form(crm_contract, client):
    assert client.post(reverse(SAVE), _answers(won_value_column="new_wonamount")).status_code == 302
    connection = _connection(crm_contract)
    connection.money_columns = [
        c for c in connection.money_columns if c["logical_name"] != "new_wonamount"
    ]
    connection.save(update_fields=["money_columns"])

    response = client.post(reverse(SAVE), _answers(won_value_column="new_wonamount"))
    assert response.status_code == 400
    assert "new_wonamount is no longer one of your CRM" in response.content.decode()
    assert CrmSettings.objects.get(contract=crm_contract).won_value_column == "new_wonamount"


def test_a_failed_refresh_shows_the_guides_message_and_keeps_the_stored_choices(
    crm_contract, client, dynamics
):
    before = _connection(crm_contract)
    dynamics.set_faults(error_rate=1.0, scope="api", retry_after=0)
    response = client.post(reverse(REFRESH), follow=True)
    assert response.redirect_chain == [(reverse(INDEX), 302)]
    page = response.content.decode()
    assert page.count("The CRM API reported an error. Please try again later.") == 1
    assert "Next step: Error with your API access" in page
    assert "Details to pass on: " in page and "HTTP 5" in page
    assert '<option value="1">Develop</option>' in page  # the stored choices are still offered
    after = _connection(crm_contract)
    assert after.last_error_kind == "api"
    assert (after.stage_options, after.choices_read_at) == (
        before.stage_options,
        before.choices_read_at,
    )

    dynamics.reset_faults()
    assert client.post(reverse(REFRESH)).status_code == 302
    after = _connection(crm_contract)
    assert after.last_error_kind == "" and after.choices_read_at > before.choices_read_at
    assert "The CRM API reported an error" not in client.get(reverse(INDEX)).content.decode()


def test_refresh_is_for_the_contracts_admins_by_post_with_the_csrf_token(
    crm_contract, admin, seat_holder, login
):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin.user)
    assert strict.post(reverse(REFRESH)).status_code == 403
    assert login(seat_holder).post(reverse(REFRESH)).status_code == 403
    assert AuditEntry.objects.filter(action="crm.choices_refresh").count() == 0


def test_refreshing_when_not_connected_says_so(login, admin, contract):
    response = login(admin).post(reverse(REFRESH), follow=True)
    assert "Connect to CRM before refreshing from it." in response.content.decode()


def test_the_daily_schedule_fills_a_connection_without_stored_choices(crm_contract, client):
    _forget_choices(crm_contract)
    page = client.get(reverse(INDEX)).content.decode()
    assert "Refresh from CRM to load your CRM's stages and fields." in page
    assert "Propose" not in page

    assert crm_choices_refresh_due() == [crm_contract.pk]  # the tasks run at once in tests

    connection = _connection(crm_contract)
    assert connection.stage_options == SEEDED_STAGES and connection.choices_read_at
    page = client.get(reverse(INDEX)).content.decode()
    assert "Refresh from CRM to load" not in page and "Propose" in page


def test_one_failing_org_does_not_stop_the_daily_refresh_of_the_others(crm_contract, outsider):
    # Another contract's connection whose stored sign-in is gone: its refresh fails.
    CrmConnectionFactory(contract=outsider.contract)
    _forget_choices(crm_contract)

    assert sorted(crm_choices_refresh_due()) == sorted([crm_contract.pk, outsider.contract_id])

    assert _connection(crm_contract).choices_read_at is not None
    broken = _connection(outsider.contract)
    assert broken.choices_read_at is None
    assert broken.last_error_kind == "auth"


def test_the_daily_schedule_is_declared_and_installed_once(db):
    [spec] = [s for s in SCHEDULES if s.func == CRM_CHOICES_REFRESH_DUE]
    assert spec.minutes == 24 * 60
    install_schedules()
    install_schedules()
    assert Schedule.objects.filter(func=CRM_CHOICES_REFRESH_DUE).count() == 1


def test_the_next_import_fills_a_connection_without_stored_choices(crm_contract):
    _forget_choices(crm_contract)
    sync_run(crm_contract.pk, "manual")
    connection = _connection(crm_contract)
    assert [o["label"] for o in connection.stage_options] == [
        "Qualify", "Develop", "Propose", "Close",
    ]  # fmt: skip
    assert connection.linkedin_solution_installed is True
    assert connection.last_error_kind == ""
