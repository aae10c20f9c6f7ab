"""The overview's charts as geometry for server-rendered SVG (``templates/overview/_chart.html``).

Why SVG drawn on the server rather than a charting library: the Content-Security-Policy allows
no inline script or style, and the charts are simple (bars and lines over 30 days); a few dozen
rectangles computed here need no JavaScript, no vendored library to keep up to date, render
before any script would and print as they are. Colours come from classes in ``portal.css``,
never from ``style`` attributes.

A chart is a column of panels sharing one axis of days: a panel of (stacked) bars or of lines
in percent. Each chart also carries its figures as a table (the accessible alternative, and
what a screen reader reads), with the days that have any data.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.utils.dateformat import format as date_format

WIDTH = 720
LEFT = 64  # room for the value axis' labels
RIGHT = 12
PANEL_GAP = 34  # between panels: room for the next panel's title
TITLE_ROOM = 22  # above a panel's plot: its title
AXIS_ROOM = 26  # below the last panel: the day labels
BAR_SHARE = 0.7  # of a day's slot


@dataclass(frozen=True)
class Series:
    """One thing counted: its key in the data, its label and its CSS class (``series-<key>``)."""

    key: str
    label: str

    @property
    def css(self) -> str:
        return f"series-{self.key}"


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    series: Series
    title: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    series: Series
    title: str


@dataclass(frozen=True)
class Polyline:
    points: str  # "x,y x,y ..." for <polyline points>
    series: Series


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass
class Panel:
    """One plot of a chart: its title, value ticks, and bars, or lines with their points."""

    title: str
    top: float  # of the plot area
    height: float
    kind: str  # "bars" or "lines"
    series: Sequence[Series]
    ticks: list[Tick] = field(default_factory=list)
    bars: list[Rect] = field(default_factory=list)
    lines: list[Polyline] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    # A horizontal rule across the plot (a threshold), with what it means.
    rule_y: float | None = None
    rule_label: str = ""

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def title_y(self) -> float:
        return self.top - 9


@dataclass
class Chart:
    """One figure: panels over the same days, and its figures as a table."""

    slug: str
    title: str
    description: str
    days: list[date]
    panels: list[Panel]
    height: float
    day_labels: list[Tick]  # ``y`` holds the x position here
    table_columns: list[str]
    table_rows: list[tuple[str, list[str]]]  # (day label, cells)
    empty: bool

    width: int = WIDTH
    left: int = LEFT

    @property
    def right(self) -> int:
        return WIDTH - RIGHT

    @property
    def axis_y(self) -> float:
        return self.panels[-1].bottom

    @property
    def day_label_y(self) -> float:
        return self.axis_y + 17

    @property
    def tick_x(self) -> int:
        return LEFT - 6

    @property
    def legend(self) -> list[Series]:
        seen: dict[str, Series] = {}
        for panel in self.panels:
            for series in panel.series:
                seen.setdefault(series.key, series)
        return list(seen.values())


def day_label(day: date) -> str:
    return date_format(day, "j M")


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is at least ``value`` (1 for 0)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # not reached


def _number(value: float) -> str:
    return f"{value:,.0f}"


def _percent(value: float) -> str:
    return f"{value:.0f}%"


@dataclass(frozen=True)
class PanelSpec:
    """What a panel shows: ``values(day)`` gives each series' value on a day (None: no data)."""

    title: str
    series: Sequence[Series]
    values: Callable[[date], dict[str, float | None]]
    kind: str = "bars"
    height: float = 90
    rule: float | None = None  # a threshold, in the panel's unit
    rule_label: str = ""


def chart_build(
    *,
    slug: str,
    title: str,
    description: str,
    days: list[date],
    panels: Sequence[PanelSpec],
    table_columns: list[str],
    table_row: Callable[[date], list[str] | None],
) -> Chart:
    """Lay out ``panels`` over ``days`` (oldest first); ``table_row(day)`` gives the table's cells
    for a day, None for a day without data (left out of the table)."""
    slot = (WIDTH - LEFT - RIGHT) / len(days)
    centres = {day: LEFT + slot * (index + 0.5) for index, day in enumerate(days)}
    built = []
    top = float(TITLE_ROOM)
    for spec in panels:
        panel = Panel(
            title=spec.title, top=top, height=spec.height, kind=spec.kind, series=spec.series
        )
        if spec.kind == "bars":
            _bars(panel, spec, days, centres, slot)
        else:
            _lines(panel, spec, days, centres)
        built.append(panel)
        top += spec.height + PANEL_GAP
    rows = []
    for day in days:
        cells = table_row(day)
        if cells is not None:
            rows.append((day_label(day), cells))
    step = max(1, round(len(days) / 6))
    labelled = [day for index, day in enumerate(days) if (len(days) - 1 - index) % step == 0]
    return Chart(
        slug=slug,
        title=title,
        description=description,
        days=days,
        panels=built,
        height=built[-1].bottom + AXIS_ROOM,
        day_labels=[Tick(centres[day], day_label(day)) for day in labelled],
        table_columns=table_columns,
        table_rows=rows,
        empty=not rows,
    )


def _scale(panel: Panel, top_value: float, label: Callable[[float], str]) -> Callable:
    def y(value: float) -> float:
        return panel.bottom - panel.height * value / top_value

    # The middle tick only where it is a whole number: counts have no half runs.
    half = top_value / 2
    values = (0, half, top_value) if half == int(half) else (0, top_value)
    panel.ticks = [Tick(y(v), label(v)) for v in values]
    return y


def _bars(panel: Panel, spec: PanelSpec, days, centres, slot) -> None:
    totals = {day: sum(v or 0 for v in spec.values(day).values()) for day in days}
    top_value = nice_ceiling(max(totals.values(), default=0))
    y = _scale(panel, top_value, _number)
    width = slot * BAR_SHARE
    for day in days:
        values = spec.values(day)
        base = 0.0
        for series in spec.series:
            value = values.get(series.key) or 0
            if not value:
                continue
            rect_top, rect_bottom = y(base + value), y(base)
            panel.bars.append(
                Rect(
                    x=centres[day] - width / 2,
                    y=rect_top,
                    width=width,
                    height=rect_bottom - rect_top,
                    series=series,
                    title=f"{day_label(day)}: {_number(value)} {series.label.lower()}",
                )
            )
            base += value


def _lines(panel: Panel, spec: PanelSpec, days, centres) -> None:
    y = _scale(panel, 100, _percent)
    if spec.rule is not None:
        panel.rule_y, panel.rule_label = y(spec.rule), spec.rule_label
    for series in spec.series:
        run: list[str] = []
        for day in days:
            value = spec.values(day).get(series.key)
            if value is None:
                # A day without data breaks the line rather than drawing through it.
                if len(run) > 1:
                    panel.lines.append(Polyline(" ".join(run), series))
                run = []
                continue
            x, at = centres[day], y(value)
            run.append(f"{x:.1f},{at:.1f}")
            panel.points.append(
                Point(x, at, series, f"{day_label(day)}: {series.label} {_percent(value)}")
            )
        if len(run) > 1:
            panel.lines.append(Polyline(" ".join(run), series))
