"""The time zone a person sees times in: their own setting, else their browser's.

The browser's zone reaches the server in a cookie that ``static/js/timezone.js`` sets on every
page (``Intl.DateTimeFormat().resolvedOptions().timeZone``); a person may choose another on
*Time zone* (``seats.views.time_zone``), kept on their user. ``TimeZoneMiddleware`` activates it
for the request, so every ``|moment`` (``common.formats``) is written in it, with the zone.
"""

import zoneinfo
from functools import cache

from django.conf import settings
from django.utils import timezone

COOKIE = "portal_tz"


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, sorted."""
    return tuple(sorted(zoneinfo.available_timezones()))


def zone_valid(name: str) -> bool:
    return bool(name) and name in zone_names()


def zone_for(request) -> tuple[str, str]:
    """(zone name, where it came from: "user", "browser" or "default") for ``request``."""
    user = getattr(request, "user", None)
    chosen = getattr(user, "time_zone", "") if user is not None else ""
    if zone_valid(chosen):
        return chosen, "user"
    browser = request.COOKIES.get(COOKIE, "")
    if zone_valid(browser):
        return browser, "browser"
    return settings.TIME_ZONE, "default"


class TimeZoneMiddleware:
    """Activates the person's zone for the request (after authentication): ``request.time_zone``
    and ``request.time_zone_source`` say which, for the pages that show it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.time_zone, request.time_zone_source = zone_for(request)
        with timezone.override(request.time_zone):
            return self.get_response(request)
