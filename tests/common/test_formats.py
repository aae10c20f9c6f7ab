"""One date and duration format: the moment in the active zone with the zone, short durations."""

from datetime import UTC, datetime, timedelta

import pytest
from django.template import engines
from django.utils import timezone

from common.formats import duration_text, moment_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(microseconds=370340), "0.4 s"),
        (timedelta(seconds=9.96), "10.0 s"),
        (timedelta(seconds=42.7), "42 s"),
        (timedelta(minutes=3, seconds=12), "3 min 12 s"),
        (timedelta(minutes=5), "5 min"),
        (timedelta(hours=2, minutes=5, seconds=59), "2 h 5 min"),
        (timedelta(days=1, hours=3), "1 d 3 h"),
        (timedelta(seconds=-3), "0.0 s"),
        (192.0, "3 min 12 s"),
        (None, ""),
    ],
)
def test_durations_are_short_and_readable(value, text):
    assert duration_text(value) == text


def test_a_moment_is_shown_in_the_active_zone_with_the_zone():
    moment = datetime(2026, 11, 29, 14, 40, tzinfo=UTC)
    with timezone.override("Europe/Paris"):
        assert moment_text(moment) == "29 Nov 2026, 15:40 CET"
    with timezone.override("America/New_York"):
        assert moment_text(moment) == "29 Nov 2026, 09:40 EST"
    assert moment_text(None) == ""


def test_every_template_has_the_filters_without_loading_them():
    template = engines["django"].from_string("{{ when|moment }} / {{ took|duration }}")
    with timezone.override("UTC"):
        text = template.render(
            {"when": datetime(2026, 1, 2, 3, 4, tzinfo=UTC), "took": timedelta(seconds=0.37)}
        )
    assert text == "2 Jan 2026, 03:04 UTC / 0.4 s"
