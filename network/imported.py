"""What the import saved, and taking it away: the one home of "remove imported-only saves,
unmark hand-made ones".

A save is a saved Account or Lead. The import marks its saves ``from_crm``; a seat holder may have
saved the same company or person by hand too (``saved_by_hand``). Taking the import's saves away
deletes the rows that exist only because of the import and, on rows the seat holder also saved by
hand, takes away just the mark: "saves the seat holder made by hand are never touched" (DESIGN §4).

``imported_saves_remove`` is the rule itself, for any set of saves; everything that takes imported
saves away calls it: *Disable CRM Sync* on Seat Management (``seats_imported_saves_remove``), the
clean-up on *Disconnect CRM Sync* (``sync.purge``) and the import, for the saves that lost their
last reason (``sync.evaluate``). Each costs a fixed number of queries however many rows it takes.
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Q, QuerySet

from network.models import SavedAccount, SavedLead
from seats.models import Seat

_KINDS = {"accounts": SavedAccount, "leads": SavedLead}


@transaction.atomic(savepoint=False)
def imported_saves_remove(*, saves: QuerySet) -> tuple[int, int]:
    """Take the import's saves among ``saves`` (saved accounts or saved leads) away.

    Deletes the imported-only ones and clears the mark, the CRM record and the import time on
    those also saved by hand. Two statements, in the caller's transaction when there is one (no
    savepoint of its own). Returns (deleted, unmarked).
    """
    imported = saves.filter(from_crm=True)
    _, deleted = imported.filter(saved_by_hand=False).delete()
    unmarked = imported.filter(saved_by_hand=True).update(
        from_crm=False, crm_record_id=None, imported_at=None
    )
    return deleted.get(saves.model._meta.label, 0), unmarked


def _of_seats(model, seats: QuerySet[Seat] | Iterable[Seat]) -> QuerySet:
    return model.objects.filter(seat__in=seats)


def seats_imported_saves_count(*, seats: QuerySet[Seat] | Iterable[Seat]) -> dict[str, int]:
    """What removing the imported saves of ``seats`` would do, for a confirmation page.

    ``accounts`` and ``leads``: rows that would be deleted (imported only); ``kept``: rows also
    saved by hand, which stay and only lose their "from CRM" mark. One query per kind.
    """
    counts = {"accounts": 0, "leads": 0, "kept": 0}
    for kind, model in _KINDS.items():
        found = (
            _of_seats(model, seats)
            .filter(from_crm=True)
            .aggregate(
                removed=Count("pk", filter=Q(saved_by_hand=False)),
                kept=Count("pk", filter=Q(saved_by_hand=True)),
            )
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
        counts[kind], kept = imported_saves_remove(saves=_of_seats(model, seats))
        counts["kept"] += kept
    return counts


def seat_imported_saves_count(*, seat: Seat) -> dict[str, int]:
    return seats_imported_saves_count(seats=[seat])


def seat_imported_saves_remove(*, seat: Seat) -> dict[str, int]:
    return seats_imported_saves_remove(seats=[seat])
