"""Opening and clearing incidents, mailing them, and saving each admin's alert choices.

``incidents_update`` is the check the schedule runs every minute (healthchecks' ``sendalerts``
is the model): it compares what is wrong now (``alerts.conditions``) with the open incidents,
opens one per new trouble and clears those that are over, and enqueues one mail task per change
once the transaction commits. Two checks at once are harmless: the database allows one open
incident per contract and kind, clearing is a conditional UPDATE, and each mail is claimed before
it is sent (``alerts.mail``).
"""

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts.conditions import Trouble, troubles_find
from alerts.mail import CLEARED, OPENED
from alerts.models import AlertPreferences, Incident, Kind
from seats.models import Seat, User
from seats.services import audit_record


@dataclass
class IncidentChanges:
    """What one check did, by incident id."""

    opened: list[int] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)
    # Ended without a mail: the contract was disconnected.
    closed: list[int] = field(default_factory=list)


def incident_mail_enqueue(*, incident_id: int, event: str) -> None:
    """Mail the incident's opening or clearing by a task, once this transaction commits."""
    from django_q.tasks import async_task

    from alerts.tasks import INCIDENT_MAIL_SEND  # here, not at the top: alerts.tasks imports us

    transaction.on_commit(
        lambda: async_task(INCIDENT_MAIL_SEND, incident_id, event, task_name=f"alert-{event}")
    )


_TEXT_FIELDS = ("title", "message", "next_step", "detail", "fix_path", "fix_label")


def _texts(trouble: Trouble) -> dict:
    return {
        "title": trouble.title[:300],
        "message": trouble.problem.message,
        "next_step": trouble.problem.next_step,
        "detail": trouble.problem.detail[:4000],
        "fix_path": trouble.fix_path,
        "fix_label": trouble.fix_label,
    }


def _open(trouble: Trouble, now) -> Incident | None:
    try:
        with transaction.atomic():
            return Incident.objects.create(
                contract_id=trouble.contract_id, kind=trouble.kind, opened_at=now, **_texts(trouble)
            )
    except IntegrityError:
        return None  # another check opened it first, and mails it


def incidents_update(*, now=None) -> IncidentChanges:
    """Open an incident for each new trouble, clear those that are over, and mail both.

    1. Read what is wrong now, and the open incidents (6 queries in all).
    2. A trouble without an open incident opens one (mailed); one with an open incident only
       refreshes its words when they changed (the number of failed items, the latest error).
    3. An open incident without its trouble clears: mailed as "back to normal" when the contract
       is still connected; closed quietly when it was disconnected (nothing left to fix).
    """
    now = now or timezone.now()
    troubles, connected = troubles_find()
    changes = IncidentChanges()
    open_incidents = {
        (incident.contract_id, incident.kind): incident
        for incident in Incident.objects.filter(cleared_at__isnull=True)
    }
    with transaction.atomic():
        for key, trouble in troubles.items():
            incident = open_incidents.get(key)
            if incident is None:
                incident = _open(trouble, now)
                if incident is not None:
                    changes.opened.append(incident.pk)
                    incident_mail_enqueue(incident_id=incident.pk, event=OPENED)
                continue
            texts = _texts(trouble)
            if any(getattr(incident, name) != texts[name] for name in _TEXT_FIELDS):
                Incident.objects.filter(pk=incident.pk, cleared_at__isnull=True).update(**texts)
        for key, incident in open_incidents.items():
            if key in troubles:
                continue
            fixed = incident.contract_id in connected
            resolution = Incident.Resolution.FIXED if fixed else Incident.Resolution.DISCONNECTED
            ended = Incident.objects.filter(pk=incident.pk, cleared_at__isnull=True).update(
                cleared_at=now, resolution=resolution
            )
            if not ended:
                continue  # another check cleared it first
            if fixed:
                changes.cleared.append(incident.pk)
                incident_mail_enqueue(incident_id=incident.pk, event=CLEARED)
            else:
                changes.closed.append(incident.pk)
    return changes


@transaction.atomic
def alert_preferences_update(
    *, seat: Seat, wanted_kinds: set[str], daily_digest: bool, by: User
) -> AlertPreferences:
    """Save which kinds an admin is emailed about, and how (each at once, or a daily digest)."""
    preferences, _ = AlertPreferences.objects.select_for_update().get_or_create(seat=seat)
    muted = sorted(set(Kind.values) - set(wanted_kinds))
    before = {"muted_kinds": preferences.muted_kinds, "daily_digest": preferences.daily_digest}
    after = {"muted_kinds": muted, "daily_digest": daily_digest}
    if before != after:
        preferences.muted_kinds = muted
        preferences.daily_digest = daily_digest
        preferences.save()
        audit_record(
            contract=seat.contract,
            actor=by,
            action="alerts.preferences",
            target=seat.user.email,
            before=before,
            after=after,
        )
    return preferences
