"""Admin > CRM Sync in a real browser: the charts are drawn (SVG shapes with a size, one per day
with data), the figures' tables open, the page passes the accessibility check and breaks no
Content-Security-Policy rule (the page fixture fails on any console error)."""

import pytest
from django.utils import timezone

from tests.browser.a11y import assert_accessible
from tests.browser.conftest import Shots
from tests.browser_fixtures import login_page
from tests.factories import (
    CrmConnectionFactory,
    CrmSettingsFactory,
    SeatFactory,
    overview_history_create,
    seats_bulk_create,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _boxes(page, selector: str) -> list[dict]:
    return [element.bounding_box() for element in page.locator(selector).all()]


def _sized(boxes: list[dict]) -> bool:
    return all(box and box["width"] > 0 and box["height"] > 0 for box in boxes)


def test_the_overview_draws_a_month_of_history(page, live_server, contract):
    admin = SeatFactory(contract=contract, admin=True, user__email="admin@contoso.test")
    holder = SeatFactory(contract=contract, user__email="alex.morgan@contoso.test")
    CrmConnectionFactory(
        contract=contract,
        environment_url="https://contoso.crm.dynamics.com",
        budget_requests_remaining=5412,
        budget_requests_limit=6000,
        budget_seconds_remaining=1130.5,
        budget_seconds_limit=1200,
        budget_observed_at=timezone.now(),
        budget_requests_sent=4220,
    )
    CrmSettingsFactory(contract=contract, writeback=True)
    seats_bulk_create(contract, 12)
    history = overview_history_create(contract, seat=holder)

    login_page(page, live_server, admin.user)
    page.goto(f"{live_server.url}/")
    page.wait_for_url(f"{live_server.url}/crm-sync/")  # admins land here
    assert page.get_by_role("heading", name="CRM Sync", level=1).is_visible()
    assert_accessible(page)

    runs = "#chart-runs [data-panel='1']"
    succeeded = _boxes(page, f"{runs} rect.series-succeeded")
    failed = _boxes(page, f"{runs} rect.series-failed")
    assert len(succeeded) == len(history.run_days) - len(history.failed_run_days)
    assert len(failed) == len(history.failed_run_days)
    assert _sized(succeeded + failed)
    # One column per day with runs: the bars of a day share their x.
    assert len({round(box["x"]) for box in succeeded + failed}) == len(history.run_days)

    requests = _boxes(page, "#chart-requests rect.series-requests")
    assert len(requests) == len(history.usage_days) and _sized(requests)
    budget = _boxes(page, "#chart-requests circle.series-budget")
    assert len(budget) == len(history.usage_days) and _sized(budget)
    assert _sized(_boxes(page, "#chart-requests line.rule"))

    for series in ("accounts", "contacts"):
        points = _boxes(page, f"#chart-match circle.series-{series}")
        assert len(points) == len(history.match_days) and _sized(points)
        assert _sized(_boxes(page, f"#chart-match polyline.series-{series}"))

    copies = _boxes(page, "#chart-copies rect.bar")
    assert len(copies) == 3 * len(history.copy_days) and _sized(copies)

    # Every chart is as wide as its panel: drawn, not collapsed.
    for chart in page.locator("svg.chart-svg").all():
        box = chart.bounding_box()
        assert box["width"] > 300 and box["height"] > 100

    # docs/screenshots/crm_sync-overview.png, in the README.
    Shots("crm_sync").take(page, "overview", docs=True)

    page.get_by_text("Sync runs per day: the figures as a table").click()
    table = page.locator("#chart-runs table")
    table.wait_for()
    assert table.locator("tbody tr").count() == len(history.run_days)
    assert_accessible(page)

    # On a phone the page's content keeps its width; each chart scrolls sideways on its own.
    page.set_viewport_size({"width": 390, "height": 844})
    main = page.locator("main")
    assert main.evaluate("main => main.scrollWidth <= main.clientWidth")
    assert main.bounding_box()["width"] <= 390
    box = page.locator("#chart-runs svg").bounding_box()
    assert box["width"] >= 500  # legible, inside its scrolling frame


def test_a_new_contract_sees_empty_charts_and_the_way_to_connect(page, live_server, contract):
    admin = SeatFactory(contract=contract, admin_only=True, user__email="adminonly@contoso.test")
    login_page(page, live_server, admin.user)
    page.goto(f"{live_server.url}/crm-sync/")
    assert page.get_by_role("link", name="Connect to CRM").is_visible()
    assert page.locator("svg.chart-svg").count() == 4
    assert page.locator("svg.chart-svg rect.bar").count() == 0
    assert page.get_by_text("Nothing yet in the last 30 days.").count() == 4
    assert_accessible(page)
