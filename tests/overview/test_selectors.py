"""The overview's reads and charts: a fixed number of queries whatever the history, figures as
the lower apps count them, and chart geometry that says what the figures say."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from overview.charts import PanelSpec, Series, chart_build, nice_ceiling
from overview.selectors import DAYS, overview_get
from tests.factories import (
    ContractFactory,
    CrmConnectionFactory,
    SeatFactory,
    overview_history_create,
    seats_bulk_create,
)

# Status 9 (connection, settings, the sync status' five, the next run, auto-pauses), numbers 4
# (seats, Accounts, Leads, outbox), charts 5 (runs and their problems, requests, match rate,
# copies).
QUERIES = 18


def _charts(overview) -> dict:
    return {chart.slug: chart for chart in overview.charts}


@pytest.mark.django_db
@pytest.mark.parametrize("scale", [1, 5])
def test_the_overview_is_a_fixed_number_of_queries(scale, django_assert_max_num_queries):
    contract = ContractFactory()
    CrmConnectionFactory(contract=contract)
    seats_bulk_create(contract, 10 * scale)
    history = overview_history_create(contract, seat=SeatFactory(contract=contract), scale=scale)

    with django_assert_max_num_queries(QUERIES):
        overview = overview_get(contract=contract)

    charts = _charts(overview)
    runs = charts["runs"]
    assert len(runs.days) == DAYS and runs.days[-1] == timezone.localdate()
    assert len(runs.table_rows) == len(history.run_days)
    assert sum(int(cells[0]) for _, cells in runs.table_rows) == history.runs
    assert len(charts["requests"].table_rows) == len(history.usage_days)
    assert len(charts["match"].table_rows) == len(history.match_days)
    copies = charts["copies"]
    assert sum(int(c) for _, cells in copies.table_rows for c in cells) == history.copies
    assert overview.numbers.outbox.failed == history.copies // 3
    assert overview.numbers.outbox.unresolved == history.copies // 3


@pytest.mark.django_db
def test_history_older_than_the_window_is_left_out():
    contract = ContractFactory()
    seat = SeatFactory(contract=contract)
    overview_history_create(contract, seat=seat, days=DAYS + 10)
    overview = overview_get(contract=contract)
    first = timezone.localdate() - timedelta(days=DAYS - 1)
    for chart in overview.charts:
        assert chart.days[0] == first
        assert len(chart.table_rows) <= DAYS


DAYS_3 = [date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 3)]


def _bars_chart(values: dict) -> object:
    return chart_build(
        slug="t",
        title="T",
        description="",
        days=DAYS_3,
        panels=[
            PanelSpec(
                "Runs", [Series("ok", "OK"), Series("bad", "Bad")], lambda day: values.get(day, {})
            )
        ],  # fmt: skip
        table_columns=["OK", "Bad"],
        table_row=lambda day: [str(v) for v in values[day].values()] if day in values else None,
    )


def test_bars_stack_and_scale_to_a_round_top():
    chart = _bars_chart({DAYS_3[0]: {"ok": 30, "bad": 10}, DAYS_3[2]: {"ok": 20, "bad": 0}})
    (panel,) = chart.panels
    assert [t.label for t in panel.ticks] == ["0", "25", "50"]
    ok1, bad1, ok3 = panel.bars  # no bar for a zero
    assert (ok1.series.key, bad1.series.key, ok3.series.key) == ("ok", "bad", "ok")
    assert ok1.height == pytest.approx(panel.height * 30 / 50)
    assert bad1.height == pytest.approx(panel.height * 10 / 50)
    assert bad1.y + bad1.height == pytest.approx(ok1.y)  # stacked on it
    assert ok1.y + ok1.height == pytest.approx(panel.bottom)
    assert ok1.x == pytest.approx(bad1.x) and ok3.x > ok1.x
    assert ok1.title == "1 May: 30 ok"
    assert [label for label, _ in chart.table_rows] == ["1 May", "3 May"]
    assert not chart.empty


def test_a_chart_without_data_is_empty_but_drawn():
    chart = _bars_chart({})
    assert chart.empty and chart.table_rows == [] and chart.panels[0].bars == []
    assert [t.label for t in chart.panels[0].ticks] == ["0", "1"]


def test_a_line_breaks_on_a_day_without_data_and_a_rule_marks_the_threshold():
    values = {DAYS_3[0]: 80.0, DAYS_3[1]: None, DAYS_3[2]: 40.0}
    chart = chart_build(
        slug="t",
        title="T",
        description="",
        days=DAYS_3 + [date(2026, 5, 4)],
        panels=[
            PanelSpec(
                "Left",
                [Series("left", "Left")],
                lambda day: {"left": values.get(day, 50.0)},
                kind="lines",
                rule=25,
                rule_label="Reserve 25%",
            )
        ],  # fmt: skip
        table_columns=["Left"],
        table_row=lambda day: None,
    )
    (panel,) = chart.panels
    assert [t.label for t in panel.ticks] == ["0%", "50%", "100%"]
    assert len(panel.points) == 3  # 1, 3 and 4 May
    assert len(panel.lines) == 1  # 3 to 4 May; 1 May stands alone
    assert panel.points[0].y == pytest.approx(panel.bottom - panel.height * 0.8)
    assert panel.rule_y == pytest.approx(panel.bottom - panel.height * 0.25)


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (1, 1), (3, 5), (7, 10), (12, 20), (4_220, 5_000)]
)
def test_nice_ceiling(value, ceiling):
    assert nice_ceiling(value) == ceiling


@pytest.mark.django_db
def test_the_summaries_count_in_words():
    contract = ContractFactory()
    history = overview_history_create(contract, seat=SeatFactory(contract=contract), days=1)
    runs, requests, _, copies = overview_get(contract=contract).charts
    assert history.runs == 1
    assert "1 run, 0 of them failed; 6 CRM rows changed and 0 problems" in runs.description
    assert "sent 40 requests to Dynamics" in requests.description
    assert "Dynamics asked it to wait 0 times." in requests.description
    assert "1 copy closed on their CRM record, 1 still open" in copies.description
