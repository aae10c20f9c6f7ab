"""The portal's own pages: the home page, liveness (``/healthz``) and readiness (``/readyz``)."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_q.brokers import get_broker
from django_q.models import Success

from portal.tasks import HEARTBEAT

logger = logging.getLogger(__name__)


def home(request):
    """Send people where their role works: admins (Admin and Admin only) to the CRM Sync
    overview, seat holders to Accounts, the operator's staff (who hold no seat) to the Django
    admin."""
    seat = request.seat
    if seat is None and request.user.is_staff:
        return redirect("admin:index")
    if seat is None:
        return render(request, "portal/no_seat.html", status=403)
    if seat.is_admin:
        return redirect("overview:index")
    return redirect("network:accounts")


@login_not_required
@require_GET
def favicon(request):
    """``/favicon.ico``, which browsers ask every site for (the Django admin's pages and JSON
    answers name no icon): the portal's SVG icon."""
    return redirect(static("favicon.svg"), permanent=True)


def _check(name: str, probe, failure: str) -> dict:
    """Run ``probe``; a failure is answered in words (``failure``), its details go to the log only:
    exception text can hold host names, user names or SQL, and the check needs no sign-in."""
    try:
        probe()
    except Exception:  # a health check reports every failure, whatever its type
        logger.warning("health check %s failed", name, exc_info=True)
        return {"ok": False, "error": failure}
    return {"ok": True}


def _probe_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _probe_cache():
    # The shared cache holds the sign-in limits: without it nobody can sign in.
    cache.get("healthz")


def _probe_broker():
    broker = get_broker()
    if not broker.ping():
        raise ConnectionError("the broker did not answer ping")
    broker.queue_size()


def _checks() -> dict:
    return {
        "database": _check("database", _probe_database, "The database did not answer."),
        "cache": _check("cache", _probe_cache, "The shared cache did not answer."),
        "broker": _check("broker", _probe_broker, "The task broker did not answer."),
    }


def _worker_last_seen() -> datetime | None:
    """When a worker last ran the heartbeat schedule (every minute), or None if never."""
    return (
        Success.objects.filter(func=HEARTBEAT)
        .order_by("-stopped")
        .values_list("stopped", flat=True)
        .first()
    )


def _worker_check(*, database_ok: bool) -> dict:
    if not database_ok:
        return {"ok": False, "error": "The worker heartbeat could not be read from the database."}
    last = _worker_last_seen()
    seen = {"last_seen": last.isoformat() if last else None}
    stale = timedelta(seconds=settings.READYZ_WORKER_STALE_SECONDS)
    if last is None:
        return {"ok": False, "error": "No worker has run the heartbeat yet.", **seen}
    if last < timezone.now() - stale:
        minutes = round(stale.total_seconds() / 60)
        return {
            "ok": False,
            "error": f"No worker has run the heartbeat in the last {minutes} minutes.",
            **seen,
        }
    return {"ok": True, **seen}


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """Liveness: 200 with ``{"ok": true, ...}`` when the database, the shared cache and the task
    broker answer, else 503 naming the part that did not."""
    checks = _checks()
    ok = all(check["ok"] for check in checks.values())
    body = {"ok": ok, **checks}
    if checks["database"]["ok"]:
        # Informational here (readiness depends on it): when a worker last ran the heartbeat.
        last = _worker_last_seen()
        body["worker_last_seen"] = last.isoformat() if last else None
    return JsonResponse(body, status=200 if ok else 503)


@login_not_required
@never_cache
@require_GET
def readyz(request):
    """Readiness: what ``/healthz`` checks, and a worker that ran the heartbeat schedule within
    ``READYZ_WORKER_STALE_SECONDS``; 503 naming each part that is not ready."""
    checks = _checks()
    checks["worker"] = _worker_check(database_ok=checks["database"]["ok"])
    ok = all(check["ok"] for check in checks.values())
    return JsonResponse({"ok": ok, **checks}, status=200 if ok else 503)
