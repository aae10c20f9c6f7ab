"""Preview before a change takes effect (issue 16): the admin picks a later pipeline stage on CRM
Settings, sees what the import would then do (per seat holder, with a sample), cancels once
(nothing saved), then saves; the import the save starts removes what the preview said."""

import pytest

import demodata
from crm_settings.selectors import crm_settings_get
from network.models import SavedAccount, SavedLead
from sync.models import SyncRun
from sync.preview import saves_preview
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import wait_until
from tests.browser.test_smoke import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
STAGES = [{"value": value, "label": label} for value, label in demodata.SALES_STAGES]


def _imported(contract) -> dict[str, int]:
    return {
        "accounts": SavedAccount.objects.filter(seat__contract=contract, from_crm=True).count(),
        "leads": SavedLead.objects.filter(seat__contract=contract, from_crm=True).count(),
    }


def test_a_stage_change_is_previewed_then_saved(page, synced, shots, contract):
    expected = saves_preview(contract=contract, stage=(3, STAGES))
    assert expected.removed > 0, "a later stage should take saves away in the demo org"
    before = _imported(contract)
    sign_in(page, synced.url, "admin@contoso-demo.com")
    page.goto(f"{synced.url}/admin-settings/crm/")
    stage = page.get_by_label("At which stage does your sales team consider")

    # 1. Choose Close, then Cancel on the preview: nothing saved.
    stage.select_option(label="Close")
    page.get_by_role("button", name="Save CRM settings").click()
    page.get_by_role("heading", name="Before you save: what the import would do").wait_for()
    assert page.get_by_text(expected.summary).is_visible()
    table = page.get_by_role("table")
    for seat in expected.seats:
        assert table.get_by_role("row").filter(has_text=seat.email).count() == 1
    assert page.get_by_role("heading", name="For example").is_visible()
    assert_accessible(page)
    shots.take(page, "stage-change-preview", docs=True)
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("heading", name="CRM Settings", exact=True).wait_for()
    assert crm_settings_get(contract=contract).pipeline_stage is None
    assert _imported(contract) == before

    # 2. Again, and Save: the answer is saved and the import it starts does what was previewed.
    last = SyncRun.objects.filter(contract=contract).order_by("-pk").values_list("pk").first()
    stage.select_option(label="Close")
    page.get_by_role("button", name="Save CRM settings").click()
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("CRM settings saved.").wait_for()
    assert crm_settings_get(contract=contract).pipeline_stage == 3
    run = wait_until(
        lambda: (
            SyncRun.objects.filter(contract=contract, state="succeeded", pk__gt=last[0])
            .order_by("-pk")
            .first()
        ),
        timeout=120,
        message="the import the save started did not finish",
    )
    saves = run.counts["saves"]
    for kind in ("accounts", "leads"):
        assert saves[f"{kind}_removed"] == expected.totals[f"{kind}_removed"]
        assert saves[f"{kind}_added"] == expected.totals[f"{kind}_added"] == 0
