"""The CRM Settings questions, offered from the org's stored metadata, saved, validated, audited."""

import pytest
from django.urls import reverse

from crm_settings.models import CrmConnection, CrmSettings
from seats.models import AuditEntry

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]

SAVE = "crm_settings:save_sync_settings"
WRITEBACK = "crm_settings:save_writeback_settings"
REFRESH = "crm_settings:refresh_choices"


@pytest.fixture
def connected(connect_crm, admin, client):
    connect_crm(admin)
    return client


def _settings(contract):
    return CrmSettings.objects.get(contract=contract)


def test_the_choices_come_from_the_orgs_metadata(connected):
    page = connected.get(reverse("crm_settings:index")).content.decode()
    for label in ("Qualify", "Develop", "Propose", "Close", "Not Sure", "Won Amount"):
        assert label in page
    assert "Auto sync all seat holders with CRM?" in page
    assert (
        "At which stage does your sales team consider an opportunity to enter your pipeline?"
        in page
    )
    assert "Where do you store the value for a won opportunity?" in page


def test_saving_the_answers_audits_and_re_evaluates_the_import(
    connected, contract, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = connected.post(
            reverse(SAVE),
            {
                "auto_sync": "no",
                "pipeline_stage": "2",
                "won_value_column": "new_wonamount",
                "sync_interval_minutes": "30",
                "confirm": "yes",  # past the preview
            },
        )
    assert response.status_code == 302
    saved = _settings(contract)
    assert (saved.auto_sync, saved.pipeline_stage, saved.pipeline_stage_label) == (
        False,
        2,
        "Propose",
    )
    assert (saved.won_value_column, saved.won_value_label) == ("new_wonamount", "Won Amount")
    assert saved.sync_interval_minutes == 30
    assert [o["label"] for o in saved.pipeline_stage_options] == [
        "Qualify", "Develop", "Propose", "Close",
    ]  # fmt: skip
    assert saved.stage_rank(3) > saved.stage_rank(2)
    entry = AuditEntry.objects.get(action="crm.settings")
    assert entry.before["pipeline_stage"] is None and entry.after["pipeline_stage"] == 2
    assert len(callbacks) == 1  # the stage changed: the import is asked to re-evaluate


def test_not_sure_is_saved_as_no_stage_and_the_default_won_column(connected, contract):
    connected.post(
        reverse(SAVE),
        {"auto_sync": "yes", "pipeline_stage": "1", "won_value_column": "estimatedvalue",
         "sync_interval_minutes": "15", "confirm": "yes"},
    )  # fmt: skip
    connected.post(
        reverse(SAVE),
        {"auto_sync": "yes", "pipeline_stage": "not_sure", "won_value_column": "not_sure",
         "sync_interval_minutes": "15", "confirm": "yes"},
    )  # fmt: skip
    saved = _settings(contract)
    assert saved.pipeline_stage is None
    assert saved.won_value_column_or_default == "actualvalue"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("pipeline_stage", "7", "Select a valid choice"),
        ("won_value_column", "name", "Select a valid choice"),
        ("sync_interval_minutes", "1", "greater than or equal to 5"),
        ("auto_sync", "perhaps", "Select a valid choice"),
    ],
)
def test_bad_answers_are_refused_with_a_message_and_nothing_saved(
    connected, contract, field, value, message
):
    data = {"auto_sync": "yes", "pipeline_stage": "1", "won_value_column": "not_sure",
            "sync_interval_minutes": "15", field: value}  # fmt: skip
    response = connected.post(reverse(SAVE), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert _settings(contract).pipeline_stage is None


def test_without_stored_choices_the_saved_answers_are_kept(connected, contract):
    connected.post(
        reverse(SAVE),
        {"auto_sync": "yes", "pipeline_stage": "1", "won_value_column": "not_sure",
         "sync_interval_minutes": "15", "confirm": "yes"},
    )  # fmt: skip
    # A connection saved before the org's choices were stored on it.
    CrmConnection.objects.filter(contract=contract).update(
        stage_options=[], money_columns=[], choices_read_at=None
    )
    page = connected.get(reverse("crm_settings:index")).content.decode()
    assert "Refresh from CRM to load your CRM's stages and fields." in page
    assert '<option value="1" selected>Develop</option>' in page
    assert "Propose" not in page
    # A disabled field keeps its saved value even if the browser sent something else.
    response = connected.post(
        reverse(SAVE),
        {"auto_sync": "no", "pipeline_stage": "3", "won_value_column": "new_wonamount",
         "sync_interval_minutes": "20", "confirm": "yes"},
    )  # fmt: skip
    assert response.status_code == 302
    saved = _settings(contract)
    assert (saved.pipeline_stage, saved.won_value_column, saved.auto_sync) == (1, "", False)


def test_writeback_cannot_be_enabled_until_the_linkedin_solution_is_installed(
    connected, contract, dynamics
):
    dynamics.set_linkedin_solution(False)
    try:
        connected.post(reverse(REFRESH))
        page = connected.get(reverse("crm_settings:index")).content.decode()
        assert "Get it now" in page and "appsource.microsoft.com" in page
        response = connected.post(
            reverse(WRITEBACK), {"writeback_enabled": "yes", "writeback_all": "all"}
        )
        assert response.status_code == 400
        assert "Select Get it now, install it, then select Refresh from CRM." in (
            response.content.decode()
        )
        assert _settings(contract).writeback_enabled is False

        dynamics.set_linkedin_solution(True)
        assert "Get it now" in connected.get(reverse("crm_settings:index")).content.decode()
        connected.post(reverse(REFRESH))
        page = connected.get(reverse("crm_settings:index")).content.decode()
        assert "Get it now" not in page
        response = connected.post(
            reverse(WRITEBACK),
            {"writeback_enabled": "yes", "writeback_all": "choose", "writeback_notes": "on"},
        )
        assert response.status_code == 302
        saved = _settings(contract)
        assert saved.writeback_types() == {"note"}
        assert AuditEntry.objects.filter(action="crm.writeback").count() == 1
    finally:
        dynamics.set_linkedin_solution(True)


def test_choosing_no_items_is_refused(connected, contract):
    response = connected.post(
        reverse(WRITEBACK), {"writeback_enabled": "yes", "writeback_all": "choose"}
    )
    assert response.status_code == 400
    assert "Choose at least one of InMails, Messages or Notes" in response.content.decode()
