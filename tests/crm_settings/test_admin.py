"""Staff edit a contract's CRM settings in the Django admin through the portal's own services:
the same rules refuse the same bad values, and every change is in the contract's audit trail."""

import pytest
from django.urls import reverse
from django.utils import timezone

from crm_settings.models import CrmSettings
from seats.models import AuditEntry
from tests.factories import CrmConnectionFactory, CrmSettingsFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = UserFactory(email="staff@crm-sync.test", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def crm_settings(contract):
    CrmConnectionFactory(
        contract=contract,
        stage_options=[{"value": 0, "label": "Qualify"}, {"value": 2, "label": "Propose"}],
        money_columns=[{"logical_name": "new_wonamount", "label": "Won Amount"}],
        linkedin_solution_installed=False,
        choices_read_at=timezone.now(),
    )
    return CrmSettingsFactory(contract=contract)


def _change(staff, crm_settings, **changes):
    """POST the admin's change form with the settings as they are, plus ``changes``."""
    values = {
        "contract": crm_settings.contract_id,
        "auto_sync": crm_settings.auto_sync,
        "pipeline_stage": "",
        "pipeline_stage_label": "",
        "won_value_column": "",
        "won_value_label": "",
        "contact_profile_url_column": "",
        "sync_interval_minutes": crm_settings.sync_interval_minutes,
        "pause_after_failures": crm_settings.pause_after_failures,
        "writeback_enabled": crm_settings.writeback_enabled,
        "writeback_all": crm_settings.writeback_all,
        "writeback_inmails": True,
        "writeback_messages": True,
        "writeback_notes": True,
        **changes,
    }
    # Unticked checkboxes are absent from a real form's POST.
    data = {k: ("on" if v is True else v) for k, v in values.items() if v is not False}
    url = reverse("admin:crm_settings_crmsettings_change", args=[crm_settings.pk])
    return staff.post(url, data)


def test_a_staff_edit_refuses_an_interval_the_portal_forbids(staff, crm_settings):
    response = _change(staff, crm_settings, sync_interval_minutes=1)

    assert response.status_code == 200, "the form comes back with the error"
    assert "greater than or equal to 5" in response.content.decode()
    assert CrmSettings.objects.get(pk=crm_settings.pk).sync_interval_minutes == 15
    assert not AuditEntry.objects.filter(action="crm.settings").exists()


def test_a_staff_edit_is_audited_with_before_and_after(staff, crm_settings, contract):
    response = _change(staff, crm_settings, auto_sync=False, sync_interval_minutes=30)

    assert response.status_code == 302, response.content.decode()[:2000]
    saved = CrmSettings.objects.get(pk=crm_settings.pk)
    assert (saved.auto_sync, saved.sync_interval_minutes) == (False, 30)
    entry = AuditEntry.objects.get(action="crm.settings")
    assert entry.contract == contract
    assert entry.actor_label == "staff@crm-sync.test"
    assert entry.before == {"auto_sync": True, "sync_interval_minutes": 15}
    assert entry.after == {"auto_sync": False, "sync_interval_minutes": 30}


def test_a_staff_edit_chooses_the_stage_among_the_crms_with_its_label(staff, crm_settings):
    response = _change(staff, crm_settings, pipeline_stage="2", won_value_column="new_wonamount")

    assert response.status_code == 302, response.content.decode()[:2000]
    saved = CrmSettings.objects.get(pk=crm_settings.pk)
    assert (saved.pipeline_stage, saved.pipeline_stage_label) == (2, "Propose")
    assert (saved.won_value_column, saved.won_value_label) == ("new_wonamount", "Won Amount")
    assert [o["value"] for o in saved.pipeline_stage_options] == [0, 2]


def test_a_staff_edit_cannot_enable_writeback_without_the_linkedin_solution(staff, crm_settings):
    response = _change(staff, crm_settings, writeback_enabled=True)

    assert response.status_code == 200
    assert "LinkedIn Sales Navigator for Dynamics app" in response.content.decode()
    assert not CrmSettings.objects.get(pk=crm_settings.pk).writeback_enabled
    assert not AuditEntry.objects.exists()


def test_a_staff_edit_of_the_pause_limit_is_audited(staff, crm_settings):
    response = _change(staff, crm_settings, pause_after_failures=3)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert CrmSettings.objects.get(pk=crm_settings.pk).pause_after_failures == 3
    entry = AuditEntry.objects.get(action="crm.settings")
    assert (entry.actor_label, entry.after) == ("staff@crm-sync.test", {"pause_after_failures": 3})


def test_staff_cannot_add_settings_beside_the_services(staff, crm_settings):
    assert staff.get(reverse("admin:crm_settings_crmsettings_add")).status_code == 403


def test_the_change_form_offers_the_orgs_stages_and_money_fields(staff, crm_settings):
    url = reverse("admin:crm_settings_crmsettings_change", args=[crm_settings.pk])
    page = staff.get(url).content.decode()
    for label in ("Not Sure", "Qualify", "Propose", "Won Amount (new_wonamount)"):
        assert label in page
