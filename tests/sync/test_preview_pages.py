"""The preview's pages through the test client, on the emulator's demo org after an import: CRM
Settings' confirm step, *Enable / Disable CRM Sync* and *Assign seats from CRM*'s preview. Each
shows the same figures ``saves_preview`` computes and changes nothing until confirmed."""

import pytest
from django.urls import reverse

import demodata
from crm_settings.selectors import crm_settings_get
from network.models import SavedAccount
from seats.models import CrmSync, Seat
from sync.models import CrmUser, SyncRun
from sync.preview import saves_preview
from tests.sync.conftest import ADMIN_EMAIL

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]
SAVE = reverse("crm_settings:save_sync_settings")
STAGES = [{"value": value, "label": label} for value, label in demodata.SALES_STAGES]
ALEX, JORDAN = "alex.morgan@contoso-demo.com", "jordan.kim@contoso-demo.com"


@pytest.fixture
def imported(connected, run_sync):
    assert run_sync(connected).state == SyncRun.State.SUCCEEDED
    return connected


@pytest.fixture
def admin_client(client, imported):
    client.force_login(imported.seats.get(user__email=ADMIN_EMAIL).user)
    return client


def _answers(**changes) -> dict:
    return {"auto_sync": "yes", "pipeline_stage": "not_sure", "won_value_column": "not_sure",
            "sync_interval_minutes": "15"} | changes  # fmt: skip


def test_a_new_stage_shows_the_preview_and_saves_nothing(admin_client, imported):
    expected = saves_preview(contract=imported, stage=(3, STAGES))
    saves = SavedAccount.objects.count()
    response = admin_client.post(SAVE, _answers(pipeline_stage="3"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Before you save: what the import would do" in page
    assert expected.summary in page and expected.summary.startswith("0 Accounts and 0 Leads")
    for seat in expected.seats:
        assert seat.email in page
    assert expected.samples[0].name in page
    # The same answers ride along, to be confirmed.
    assert '<input type="hidden" name="pipeline_stage" value="3">' in page
    assert crm_settings_get(contract=imported).pipeline_stage is None
    assert SavedAccount.objects.count() == saves


def test_save_on_the_preview_saves(admin_client, imported):
    response = admin_client.post(SAVE, _answers(pipeline_stage="3", confirm="yes"))
    assert response.status_code == 302
    assert crm_settings_get(contract=imported).pipeline_stage == 3


def test_the_auto_sync_answer_is_previewed_too(admin_client, imported):
    page = admin_client.post(SAVE, _answers(auto_sync="no")).content.decode()
    assert saves_preview(contract=imported, auto_sync=False).summary in page
    assert crm_settings_get(contract=imported).auto_sync is True


def test_other_answers_save_at_once(admin_client, imported):
    response = admin_client.post(SAVE, _answers(sync_interval_minutes="30"))
    assert response.status_code == 302
    assert crm_settings_get(contract=imported).sync_interval_minutes == 30


def test_a_bad_answer_is_refused_before_any_preview(admin_client, imported):
    response = admin_client.post(SAVE, _answers(pipeline_stage="9"))
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()


def test_enable_crm_sync_shows_what_the_import_would_bring(admin_client, imported):
    alex = Seat.objects.get(user__email=ALEX)
    admin_client.post(reverse("seats:sync_disable"), {"seat": alex.pk, "confirm": "yes"})
    expected = saves_preview(contract=imported, seat_sync={alex.pk: True}, of_seats=[alex.pk])
    assert expected.totals["accounts_added"] > 0
    page = admin_client.get(reverse("seats:sync_enable"), {"seat": alex.pk}).content.decode()
    assert expected.summary in page and "for 1 seat holder." in page
    assert Seat.objects.get(pk=alex.pk).crm_sync == CrmSync.OFF
    admin_client.post(reverse("seats:sync_enable"), {"seat": alex.pk, "confirm": "yes"})
    assert Seat.objects.get(pk=alex.pk).crm_sync == CrmSync.ON


def test_disable_crm_sync_shows_the_seat_and_a_sample(admin_client, imported):
    alex = Seat.objects.get(user__email=ALEX)
    page = admin_client.get(reverse("seats:sync_disable"), {"seat": alex.pk}).content.decode()
    expected = saves_preview(contract=imported, seat_sync={alex.pk: False}, of_seats=[alex.pk])
    assert expected.summary in page and "0 Accounts and 0 Leads would be added" in page
    assert expected.sample("accounts", "removed")[0].name in page


def test_assign_seats_from_crm_previews_each_new_seat(admin_client, imported):
    jordan = CrmUser.objects.get(contract=imported, email=JORDAN)
    response = admin_client.post(reverse("seats:assign_preview"), {"crm_user": jordan.pk})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Their first import" in page and "New seat" in page and JORDAN in page
    assert f'<input type="hidden" name="crm_user" value="{jordan.pk}">' in page
    assert not Seat.objects.filter(user__email=JORDAN).exists(), "nothing assigned yet"


def test_assign_preview_of_nobody_is_a_notice(admin_client):
    response = admin_client.post(reverse("seats:assign_preview"), {}, follow=True)
    assert "Select the people to assign seats to." in response.content.decode()


def test_the_previews_refuse_another_contracts_objects(client, imported, outsider):
    client.force_login(outsider.user)
    alex = Seat.objects.get(user__email=ALEX)
    jordan = CrmUser.objects.get(contract=imported, email=JORDAN)
    assert client.get(reverse("seats:sync_enable"), {"seat": alex.pk}).status_code == 404
    assert client.post(reverse("seats:assign_preview"), {"crm_user": jordan.pk}).status_code == 404
