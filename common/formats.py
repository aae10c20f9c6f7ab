"""The one way the portal writes a moment and a duration, on pages and in messages.

A moment is shown in the viewer's time zone (the one ``seats.middleware`` activates for the
request: their own setting, else their browser's), always with the zone: "29 Nov 2026, 15:40
CET". A duration is short and readable: "0.4 s", "42 s", "3 min 12 s", "2 h 5 min".
"""

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateformat import format as date_format

MOMENT_FORMAT = "j M Y, H:i T"


def moment_text(value: datetime | None) -> str:
    """``value`` in the active time zone, with the zone; "" for None (or anything else)."""
    if not isinstance(value, datetime):
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return date_format(value, MOMENT_FORMAT)


def duration_text(value: timedelta | float | None) -> str:
    """``value`` (a timedelta, or seconds) in the largest two units that say it; "" for None."""
    if value is None:
        return ""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    seconds = max(seconds, 0.0)
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{int(seconds)} s"
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"
