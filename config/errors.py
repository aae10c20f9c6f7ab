"""Where the operator's staff hear about errors: Django's error mails to ``ADMINS``, and Sentry
when ``SENTRY_DSN`` is set.

Both carry the error and the ids in its message, never what people typed or hold: the portal
handles CRM sign-ins, tokens, and seat holders' messages and notes. So the mails leave out form
values and cookies (``StaffReportFilter``), and every Sentry event is stripped of the request's
body, cookies, headers and query string, of local variables and of breadcrumb data
(``sentry_event_scrub``), with ``send_default_pii`` off.
"""

from django.views.debug import SafeExceptionReporterFilter


class StaffReportFilter(SafeExceptionReporterFilter):
    """Django's own filter (settings and headers whose names look secret are hidden), plus: no
    form value and no cookie value at all in an error report."""

    def get_post_parameters(self, request):
        if request is None or not self.is_active(request):
            return super().get_post_parameters(request)
        return dict.fromkeys(request.POST, self.cleansed_substitute)

    def get_safe_cookies(self, request):
        if request is None or not self.is_active(request):
            return super().get_safe_cookies(request)
        return dict.fromkeys(request.COOKIES, self.cleansed_substitute)


# What an event may keep of the request: where it went, not what it carried.
_REQUEST_KEPT = ("url", "method")
_BREADCRUMB_KEPT = ("type", "category", "level", "message", "timestamp")


def _strip_frames(container: dict | None) -> None:
    for value in (container or {}).get("values") or []:
        for frame in (value.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)


def sentry_event_scrub(event: dict, hint: dict | None = None) -> dict:
    """Sentry's ``before_send``: keep the error (type, message, stack of code lines) and ids;
    drop the request's body, cookies, headers, query string and environment, local variables,
    the user beyond an id, extra data and breadcrumbs' data."""
    request = event.get("request")
    if request is not None:
        event["request"] = {key: request[key] for key in _REQUEST_KEPT if key in request}
    _strip_frames(event.get("exception"))
    _strip_frames(event.get("threads"))
    user = event.get("user")
    if user is not None:
        event["user"] = {"id": user["id"]} if "id" in user else {}
    event.pop("extra", None)
    breadcrumbs = event.get("breadcrumbs")
    if breadcrumbs is not None:
        values = breadcrumbs.get("values", []) if isinstance(breadcrumbs, dict) else breadcrumbs
        cleaned = [
            {key: crumb[key] for key in _BREADCRUMB_KEPT if key in crumb} for crumb in values
        ]
        event["breadcrumbs"] = {"values": cleaned} if isinstance(breadcrumbs, dict) else cleaned
    return event


def sentry_init(*, dsn: str, environment: str, transport=None) -> None:
    """Send errors to Sentry (the Django integration: requests, tasks' logged errors), with
    nothing beyond ids and error text. ``transport`` is for tests."""
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=sentry_event_scrub,
        transport=transport,
    )
