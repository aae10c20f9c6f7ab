"""An item's CRM copy in the mobile API: its payload, its states, and *Retry*.

The one module of the inbox that imports the writeback, and the named exception to the layering
(``inbox`` below ``writeback``, see both module maps). The API is the mobile app's single surface
for the seat holder's items, and each item's answer carries its delivery (the writeback's
``OutboxEntry``, reached as ``item.delivery``), as the pages show it. Rather than split one API
across two apps, its view reads the entry here and calls one writeback service, *Retry*
(DESIGN §3's "its view calls one service there"). Nothing else in the inbox imports these.
"""

from datetime import datetime

from inbox.api.http import ApiError
from writeback.models import OutboxEntry, OutboxState
from writeback.outbox import outbox_retry

# What a delivery's state can be, for the API's description.
DELIVERY_STATES = list(OutboxState.values)
# States whose next_attempt_at is a time to show (the others hold a lease or nothing).
_WAITING = {OutboxState.QUEUED, OutboxState.RETRYING, OutboxState.REMOVAL_REQUESTED}
NOTHING_TO_RETRY = "This item was never copied to the CRM: nothing to retry."


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def delivery_payload(entry: OutboxEntry | None) -> dict | None:
    """An item's CRM copy, or None when it was never ticked."""
    if entry is None:
        return None
    error = None
    if entry.last_error_kind:
        error = {
            "kind": entry.last_error_kind,
            "reason": entry.failure_reason,
            "next_step": entry.next_step,
            "detail": entry.last_error_detail,
        }
    return {
        "state": entry.state,
        "label": entry.get_state_display(),
        "activity_id": str(entry.activity_id),
        "attempts": entry.attempts,
        "next_attempt_at": _time(entry.next_attempt_at) if entry.state in _WAITING else None,
        "error": error,
        "crm_url": entry.crm_url or None,
        "written_open": entry.written_open,
        "sent_at": _time(entry.sent_at),
    }


def delivery_retry(*, entry: OutboxEntry | None) -> None:
    """*Retry* an item's failed copy (``entry`` is its ``delivery``, None if it was never ticked).

    A 400 when there is nothing to retry; the outbox's ``ValidationError`` when it is not failed.
    """
    if entry is None:
        raise ApiError(400, "invalid", NOTHING_TO_RETRY)
    outbox_retry(entry=entry)
