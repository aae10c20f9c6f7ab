"""``{{ value|moment }}`` and ``{{ value|duration }}``: the portal's one date and duration format
(``common.formats``), used by every template that shows a time."""

from django import template

from common.formats import duration_text, moment_text

register = template.Library()


@register.filter
def moment(value) -> str:
    """A datetime in the viewer's time zone, with the zone: "29 Nov 2026, 15:40 CET"."""
    return moment_text(value)


@register.filter
def duration(value) -> str:
    """A timedelta (or seconds) such as "0.4 s" or "3 min 12 s"."""
    return duration_text(value)
