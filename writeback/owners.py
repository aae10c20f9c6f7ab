"""Who an item's activity belongs to in the CRM, and on whose behalf it is written.

The owner is always the seat holder's CRM user (the mapping Seat Management shows). When the
connecting user may act on behalf of others (``CrmConnection.can_impersonate``, found when
connecting), the portal also sends the seat holder's Entra object id as ``CallerObjectId``, so
Dynamics records the seat holder as creator too: the seed guide's "the Admin who initiated the
sync will be shown as the creator" no longer applies. Without that privilege writes are
owner-only and the connecting user stays creator; CRM Settings says which applies.

A seat with no CRM user cannot own anything:

- never checked yet (the first import maps seats by email): its items wait and retry;
- *Not Matched* (no CRM user with the seat holder's email, or a disabled one): its items fail at
  once with the mapping's reason and the next step, and *Retry* once an admin fixed it.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from crm_settings.models import CrmConnection
from sync.models import SeatCrmUser

NOT_CHECKED = (
    "Your seat has not been matched to a CRM user yet: the next CRM sync matches seats to CRM "
    "users by email."
)


@dataclass(frozen=True)
class Writer:
    """How a seat's activities are written: their owner, and the caller to act as (or None)."""

    owner_id: uuid.UUID
    caller_object_id: str | None


@dataclass(frozen=True)
class Unmapped:
    """Why a seat's activities cannot be written, and whether waiting can help."""

    reason: str
    may_wait: bool


def seat_writers_get(
    *, connection: CrmConnection, seat_ids: Iterable[int]
) -> dict[int, Writer | Unmapped]:
    """The writer of each seat in ``seat_ids`` (one query)."""
    links = {
        link.seat_id: link
        for link in SeatCrmUser.objects.filter(seat_id__in=set(seat_ids)).select_related("crm_user")
    }
    writers: dict[int, Writer | Unmapped] = {}
    for seat_id in set(seat_ids):
        link = links.get(seat_id)
        if link is None:
            writers[seat_id] = Unmapped(reason=NOT_CHECKED, may_wait=True)
        elif link.crm_user is None:
            writers[seat_id] = Unmapped(reason=link.reason, may_wait=False)
        else:
            user = link.crm_user
            acts_for = connection.can_impersonate and user.azure_object_id
            writers[seat_id] = Writer(
                owner_id=user.crm_id,
                caller_object_id=str(user.azure_object_id) if acts_for else None,
            )
    return writers
