"""What the import saved for a seat, and taking it away when the seat's CRM sync is disabled.

A save is a saved Account or Lead. The import marks its saves ``from_crm``; a seat holder may have
saved the same company or person by hand too (``saved_by_hand``). Removing a seat's imported saves
deletes the rows that exist only because of the import and, on rows the seat holder also saved by
hand, takes away just the mark: "saves the seat holder made by hand are never touched" (DESIGN §4).

The ``seats_`` functions take a queryset of seats and cost a fixed number of queries however many
seats it holds (bulk *Disable CRM Sync* on Seat Management); the ``seat_`` ones are for one seat.
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Q, QuerySet

from network.models import SavedAccount, SavedLead
from seats.models import Seat

_KINDS = {"accounts": SavedAccount, "leads": SavedLead}


def _imported(model, seats: QuerySet[Seat] | Iterable[Seat]) -> QuerySet:
    return model.objects.filter(seat__in=seats, from_crm=True)


def seats_imported_saves_count(*, seats: QuerySet[Seat] | Iterable[Seat]) -> dict[str, int]:
    """What removing the imported saves of ``seats`` would do, for a confirmation page.

    ``accounts`` and ``leads``: rows that would be deleted (imported only); ``kept``: rows also
    saved by hand, which stay and only lose their "from CRM" mark.
    """
    counts = {"accounts": 0, "leads": 0, "kept": 0}
    for kind, model in _KINDS.items():
        found = _imported(model, seats).aggregate(
            removed=Count("pk", filter=Q(saved_by_hand=False)),
            kept=Count("pk", filter=Q(saved_by_hand=True)),
        )
        counts[kind] = found["removed"]
        counts["kept"] += found["kept"]
    return counts


@transaction.atomic
def seats_imported_saves_remove(*, seats: QuerySet[Seat] | Iterable[Seat]) -> dict[str, int]:
    """Delete the imported-only saves of ``seats`` and unmark the ones also saved by hand.

    Returns the counts in the shape of ``seats_imported_saves_count``.
    """
    counts = {"accounts": 0, "leads": 0, "kept": 0}
    for kind, model in _KINDS.items():
        _, deleted = _imported(model, seats).filter(saved_by_hand=False).delete()
        counts[kind] = deleted.get(model._meta.label, 0)
        counts["kept"] += _imported(model, seats).update(
            from_crm=False, crm_record_id=None, imported_at=None
        )
    return counts


def seat_imported_saves_count(*, seat: Seat) -> dict[str, int]:
    return seats_imported_saves_count(seats=[seat])


def seat_imported_saves_remove(*, seat: Seat) -> dict[str, int]:
    return seats_imported_saves_remove(seats=[seat])
