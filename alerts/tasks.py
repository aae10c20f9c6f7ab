"""django-q2 tasks of the alerts. Thin: they take ids, re-fetch, and call the services.

All are safe to run twice or at the same time (``alerts.services``, ``alerts.mail``).
"""

from django_q.tasks import async_task

from alerts.mail import digest_preferences_due, digest_send
from alerts.mail import incident_mail_send as _mail_send
from alerts.services import incidents_update

ALERTS_CHECK = "alerts.tasks.alerts_check"
ALERTS_DIGEST = "alerts.tasks.alerts_digest_due"
DIGEST_SEND = "alerts.tasks.alerts_digest_send"
INCIDENT_MAIL_SEND = "alerts.tasks.incident_mail_send"


def alerts_check() -> str:
    """The schedule's minute tick: open and clear incidents, enqueueing their mails."""
    changes = incidents_update()
    return (
        f"{len(changes.opened)} opened, {len(changes.cleared)} cleared, "
        f"{len(changes.closed)} closed on disconnect"
    )


def incident_mail_send(incident_id: int, event: str) -> int:
    """Mail one incident's opening or clearing; returns how many emails went out."""
    return _mail_send(incident_id=incident_id, event=event)


def alerts_digest_due() -> int:
    """The daily schedule: one task per admin whose digest is due (one slow mail server holds
    up no other contract's)."""
    ids = list(digest_preferences_due())
    for preferences_id in ids:
        async_task(DIGEST_SEND, preferences_id, task_name="alerts-digest")
    return len(ids)


def alerts_digest_send(preferences_id: int) -> int:
    return digest_send(preferences_id=preferences_id)
