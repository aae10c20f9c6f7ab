"""The alert emails: one when an incident opens, one when it clears, and the daily digest.

Recipients are the contract's Admin and Admin only seats with an active account, minus those who
muted the kind; those who chose the daily digest get it instead of each mail. Links are absolute,
on ``PORTAL_BASE_URL`` (tasks have no request to ask for the portal's address); without it the
mail names the page instead.

Each mail is sent at most once: the task claims it with a conditional UPDATE of the incident's
``opened_mailed_at`` / ``cleared_mailed_at`` (or the preferences' ``digest_sent_at``) before
sending, and gives the claim back if sending fails, so django-q2's retry of the task sends it
then.
"""

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from alerts.models import AlertPreferences, Incident
from seats.models import ADMIN_ROLES, Seat

OPENED, CLEARED = "opened", "cleared"
# The digest goes out once a day; a little slack lets a schedule that runs late still send it.
DIGEST_EVERY = timedelta(hours=20)
_DIGEST_WINDOW = timedelta(days=1)


def portal_url(path: str) -> str:
    """``path`` on the portal's public address, or "" when ``PORTAL_BASE_URL`` is not set."""
    base = settings.PORTAL_BASE_URL.rstrip("/")
    return f"{base}{path}" if base else ""


def _preferences(seat: Seat) -> AlertPreferences | None:
    try:
        return seat.alert_preferences
    except AlertPreferences.DoesNotExist:
        return None


def _admins(contract_id: int):
    return (
        Seat.objects.filter(contract_id=contract_id, role__in=ADMIN_ROLES, user__is_active=True)
        .exclude(user__email="")
        .select_related("user", "alert_preferences", "contract")
        .order_by("user__email")
    )


def incident_recipients(*, incident: Incident) -> list[Seat]:
    """The admins who get this incident's mails now: not muted, and not on the daily digest."""
    recipients = []
    for seat in _admins(incident.contract_id):
        preferences = _preferences(seat)
        if preferences is None or (
            preferences.wants(incident.kind) and not preferences.daily_digest
        ):
            recipients.append(seat)
    return recipients


def _context(incident: Incident) -> dict:
    return {
        "incident": incident,
        "contract": incident.contract,
        "fix_url": portal_url(incident.fix_path),
        "preferences_url": portal_url(reverse("alerts:preferences")),
    }


def _subject(contract_name: str, title: str) -> str:
    return " ".join(f"[CRM Sync] {contract_name}: {title}".split())


def _send(messages: list[EmailMessage]) -> int:
    if messages:
        with get_connection() as connection:
            connection.send_messages(messages)
    return len(messages)


def incident_mail_send(*, incident_id: int, event: str) -> int:
    """Send the incident's ``opened`` or ``cleared`` mail to its recipients; returns how many.

    Nothing is sent twice (the claim), nor an opening already over before it went out, nor a
    "back to normal" for an opening nobody was sent.
    """
    incident = Incident.objects.filter(pk=incident_id).select_related("contract").first()
    if incident is None:
        return 0
    if event == OPENED and not incident.is_open:
        return 0
    if event == CLEARED and incident.opened_mailed_at is None:
        return 0
    stamp = "opened_mailed_at" if event == OPENED else "cleared_mailed_at"
    claim = Incident.objects.filter(pk=incident.pk, **{f"{stamp}__isnull": True})
    if not claim.update(**{stamp: timezone.now()}):
        return 0
    context = _context(incident)
    if event == OPENED:
        subject = _subject(incident.contract.name, incident.title)
        body = render_to_string("alerts/email/incident_opened.txt", context)
    else:
        subject = _subject(incident.contract.name, f"Back to normal: {incident.cleared_title}")
        body = render_to_string("alerts/email/incident_cleared.txt", context)
    messages = [
        EmailMessage(subject=subject, body=body, to=[seat.user.email])
        for seat in incident_recipients(incident=incident)
    ]
    try:
        return _send(messages)
    except Exception:
        Incident.objects.filter(pk=incident.pk).update(**{stamp: None})
        raise


def digest_preferences_due(*, now=None) -> Iterable[int]:
    """Ids of the preferences whose daily digest is due."""
    now = now or timezone.now()
    due = Q(digest_sent_at__isnull=True) | Q(digest_sent_at__lte=now - DIGEST_EVERY)
    return (
        AlertPreferences.objects.filter(due, daily_digest=True, seat__role__in=ADMIN_ROLES)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def digest_send(*, preferences_id: int, now=None) -> int:
    """One admin's daily digest: what is still wrong, and what started or ended since the last
    digest (a day, for the first), of the kinds they did not mute. Nothing is sent when there is
    nothing to tell. Returns 1 when a mail went out."""
    now = now or timezone.now()
    preferences = (
        AlertPreferences.objects.filter(pk=preferences_id, daily_digest=True)
        .select_related("seat__user", "seat__contract")
        .first()
    )
    if preferences is None or not preferences.seat.user.is_active:
        return 0
    previous = preferences.digest_sent_at
    due = Q(digest_sent_at__isnull=True) | Q(digest_sent_at__lte=now - DIGEST_EVERY)
    if not AlertPreferences.objects.filter(due, pk=preferences.pk).update(digest_sent_at=now):
        return 0  # another worker sent it
    since = previous or now - _DIGEST_WINDOW
    contract = preferences.seat.contract
    incidents = [
        incident
        for incident in Incident.objects.filter(contract=contract)
        .filter(Q(cleared_at__isnull=True) | Q(cleared_at__gt=since))
        .order_by("opened_at", "pk")
        if preferences.wants(incident.kind)
        and (incident.is_open or incident.resolution == Incident.Resolution.FIXED)
    ]
    still_open = [incident for incident in incidents if incident.is_open]
    ended = [incident for incident in incidents if not incident.is_open]
    if not incidents or not preferences.seat.user.email:
        return 0
    body = render_to_string(
        "alerts/email/digest.txt",
        {
            "contract": contract,
            "since": since,
            "still_open": [(incident, portal_url(incident.fix_path)) for incident in still_open],
            "ended": ended,
            "preferences_url": portal_url(reverse("alerts:preferences")),
        },
    )
    open_count = len(still_open)
    summary = (
        f"{open_count} open alert{'s' if open_count != 1 else ''}"
        if still_open
        else ("everything back to normal")
    )
    message = EmailMessage(
        subject=_subject(contract.name, f"Daily alert digest: {summary}"),
        body=body,
        to=[preferences.seat.user.email],
    )
    try:
        return _send([message])
    except Exception:
        AlertPreferences.objects.filter(pk=preferences.pk).update(digest_sent_at=previous)
        raise
