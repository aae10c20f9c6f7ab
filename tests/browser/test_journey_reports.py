"""Journey: an admin reads what the integration brings, in a real browser, with the worker doing
the import: a deal Alex had saved is won in the CRM, the next sync records it, and the won-revenue
report counts it per currency; its CSV is downloaded and parsed; the match report and the audit
trail open, each accessible."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from crm_settings.services import sync_settings_update
from network.models import SavedAccount
from seats.models import User
from sync.models import CrmOpportunity, SeatCrmUser, SyncRun
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import wait_until
from tests.browser.test_smoke import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _download_csv(page, link_name: str) -> list[dict]:
    with page.expect_download() as download:
        page.get_by_role("link", name=link_name).click()
    text = open(download.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    return list(csv.DictReader(io.StringIO(text)))


def _admin_menu(page, link: str) -> None:
    menu = page.get_by_role("navigation", name="Main")
    menu.locator("summary", has_text="Admin").click()
    menu.get_by_role("link", name=link).click()


def test_reports_journey(page, synced, shots, demo_team, contract):
    emulator = synced.emulator
    alex = demo_team["alex.morgan"]
    # An open deal of Alex's whose account the first import saved for Alex, ten days ago.
    owner = SeatCrmUser.objects.get(seat=alex).crm_user.crm_id
    saved = SavedAccount.objects.filter(seat=alex, from_crm=True)
    deal = CrmOpportunity.objects.filter(
        contract=contract,
        owner_id=owner,
        state=CrmOpportunity.State.OPEN,
        account_id__in=saved.values("crm_record_id"),
    ).first()
    saved.filter(crm_record_id=deal.account_id).update(saved_at=timezone.now() - timedelta(days=10))
    # Won in the CRM today, for 12,345 in the deal's own currency.
    emulator.patch_opportunity(str(deal.crm_id), statecode=1, statuscode=3, actualvalue=12345)

    sign_in(page, synced.url, "admin@contoso-demo.com")
    _admin_menu(page, "CRM Settings")
    page.get_by_role("button", name="Sync now").click()
    wait_until(
        lambda: SyncRun.objects.filter(contract=contract, state="succeeded").count() == 2,
        timeout=120,
        message=f"the second import did not finish; worker log:\n{synced.worker_log()[-3000:]}",
    )

    # 1. Won revenue, over the demo org's years: totals per currency, never added together.
    _admin_menu(page, "Won revenue")
    page.get_by_label("First month").fill("2023-01")
    page.get_by_label("Last month").fill(timezone.localdate().strftime("%Y-%m"))
    page.get_by_role("button", name="Show").click()
    totals = page.get_by_role("region", name="Totals")
    for code in ("USD", "EUR", "GBP"):
        assert totals.get_by_text(code, exact=True).count() == 1
    alex_row = page.get_by_role("row", name="Alex Morgan")
    assert alex_row.count() == 1
    assert "saved in the portal before the win" in totals.inner_text()
    assert_accessible(page)
    shots.take(page, "won-revenue", docs=True)

    # 2. Its CSV, downloaded and parsed: Alex's deal won today counts as saved before the win
    # (the demo org's other wins closed years ago).
    rows = _download_csv(page, "Export CSV")
    this_month = timezone.localdate().strftime("%Y-%m")
    alex_now = [
        r for r in rows if r["Email"] == "alex.morgan@contoso-demo.com" and r["Month"] == this_month
    ]
    assert [
        (r["Won opportunities"], r["Saved in the portal before the win"]) for r in alex_now
    ] == [("1", "1")]
    assert float(alex_now[0]["Won value"]) == 12345
    assert {r["Currency"] for r in rows} == {"USD", "EUR", "GBP"}

    # 3. The match report, and the full list of unmatched contacts as a CSV.
    _admin_menu(page, "Match report")
    contacts = page.get_by_role("region", name="Contacts", exact=True)
    assert contacts.get_by_role("rowheader", name="Not matched").count() == 1
    assert_accessible(page)
    shots.take(page, "match-report", docs=True, full_page=False)
    unmatched = _download_csv(page, "Export CSV")
    assert unmatched and {r["Match"] for r in unmatched} == {"Not matched"}

    # 4. Two changes, then the audit trail in words: the admin's on CRM Settings, and one by
    # support through the staff admin's services.
    _admin_menu(page, "CRM Settings")
    page.get_by_label("Sync every (minutes)").fill("30")
    page.get_by_role("button", name="Save CRM settings").click()
    page.get_by_text("CRM settings saved.").wait_for()
    support = User.objects.create_superuser("support@crm-sync.local", "not-used-here")
    sync_settings_update(
        contract=contract, values={"auto_sync": False}, stage_options=[], by=support
    )
    _admin_menu(page, "Audit trail")
    trail = page.get_by_role("table")
    assert trail.get_by_role("row").nth(1).inner_text().count("support@crm-sync.local") == 1
    assert trail.get_by_text("Auto sync all seat holders with CRM?: Yes → No").count() == 1
    assert trail.get_by_text("Sync every (minutes): 15 → 30").count() == 1
    assert trail.get_by_text("Connected to Microsoft Dynamics").count() == 1
    assert_accessible(page)
    shots.take(page, "audit-trail", docs=True)
    audit = _download_csv(page, "Export CSV")
    assert "crm.connect" in {r["Action"] for r in audit}
