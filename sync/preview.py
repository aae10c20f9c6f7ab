"""Preview (dry run): what the import would do to the seat holders' saves, before a change.

CRM Settings (a new pipeline stage or auto-sync answer), Seat Management (*Enable / Disable CRM
Sync*), *Assign seats from CRM* (what each new seat gets on its first import) and the first
import after connecting show it before anything is saved: "N Accounts and M Leads would be
added, K removed, for S seat holders", per seat, with a sample of the records.

It is computed from the mirror with the import's own query: ``sync.evaluate.desired_saves_create``
fills the same temporary table the import fills, with the what-ifs as an unsaved copy of the
settings and ``SeatOverrides``; the preview then only counts, per seat, the desired saves that do
not exist yet (the import inserts them) and the imported saves without a desired row (the import
deletes the imported-only ones and takes the mark off those also saved by hand). Nothing is
written: all of it runs in a transaction rolled back at the end, and Dynamics is never asked, so
the figures are those of the next import when the CRM has not changed since the last one.
"""

import copy
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from django.db import connection, transaction

from crm_settings.models import CrmSettings
from crm_settings.selectors import crm_settings_get
from network.models import Company, Member, SavedAccount
from seats.models import Contract, Seat
from sync.evaluate import DESIRED, KINDS, SeatOverrides, desired_saves_create, new_seat_id
from sync.models import CrmUser

# How many records the sample names, per kind and direction.
SAMPLE_SIZE = 10
# What the preview counts per seat and kind: the import's insertions and deletions, and the
# hand-made saves that would only lose their "from CRM" mark.
MOVES = ("added", "removed", "kept")


@dataclass
class SeatPreview:
    """What one seat holder's saves would become; ``new`` for a seat not created yet."""

    seat_id: int
    name: str
    email: str
    new: bool = False
    counts: dict[str, int] = field(
        default_factory=lambda: {f"{kind}_{move}": 0 for kind in KINDS for move in MOVES}
    )

    @property
    def changes(self) -> bool:
        return any(self.counts.values())


@dataclass(frozen=True)
class SampleRecord:
    """One record the import would add or remove, named, with whose save it is."""

    kind: str  # "accounts" / "leads"
    move: str  # "added" / "removed"
    name: str
    seat_name: str


@dataclass
class SavesPreview:
    """The whole preview: totals, one row per seat holder whose saves change, and a sample."""

    seats: list[SeatPreview]
    totals: dict[str, int]
    samples: list[SampleRecord]

    @property
    def seats_changed(self) -> int:
        return len(self.seats)

    @property
    def changes(self) -> bool:
        return bool(self.seats)

    @property
    def removed(self) -> int:
        return self.totals["accounts_removed"] + self.totals["leads_removed"]

    @property
    def summary(self) -> str:
        """The one sentence: "N Accounts and M Leads would be added, K removed, for S seat
        holders"."""
        if not self.changes:
            return "Nothing would change: every seat holder's Accounts and Leads stay as they are."
        holders = _plural(self.seats_changed, "seat holder")
        return (
            f"{_plural(self.totals['accounts_added'], 'Account')} and "
            f"{_plural(self.totals['leads_added'], 'Lead')} would be added, "
            f"{self.removed:,} removed, for {holders}."
        )

    def sample(self, kind: str, move: str) -> list[SampleRecord]:
        return [s for s in self.samples if s.kind == kind and s.move == move]


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def saves_preview(
    *,
    contract: Contract,
    stage: tuple[int | None, list[dict]] | None = None,
    auto_sync: bool | None = None,
    seat_sync: Mapping[int, bool] | None = None,
    new_seats_for: Collection[int] = (),
    of_seats: Collection[int] | None = None,
) -> SavesPreview:
    """What the import would add and remove with these what-ifs, from the mirror; writes nothing.

    ``stage``: a pipeline stage (None for *Not Sure*) and the stage options in pipeline order, as
    CRM Settings would save them; ``auto_sync``: the *Auto sync all seat holders with CRM?*
    answer; ``seat_sync``: seat pk -> CRM sync on or off; ``new_seats_for``: CRM users given a new
    Seat holder seat. Anything not given stays as saved. ``of_seats`` limits the figures to
    those seats (stand-ins for new ones, ``new_seat_id``): a seat's own change is not mixed with
    what the next import would do anyway for the others (a CRM change read since).

    One rolled-back transaction: per kind, the import's desired set into its temporary table,
    then three SELECTs (per-seat counts of additions, of removals, and the sample).
    """
    crm_settings = copy.copy(crm_settings_get(contract=contract))
    if stage is not None:
        crm_settings.pipeline_stage, crm_settings.pipeline_stage_options = stage
    if auto_sync is not None:
        crm_settings.auto_sync = auto_sync
    overrides = SeatOverrides(
        sync=dict(seat_sync or {}),
        new_seats_for=tuple(new_seats_for),
        only=None if of_seats is None else tuple(of_seats),
    )
    with transaction.atomic():
        try:
            found = _compute(
                contract=contract, crm_settings=crm_settings, overrides=overrides, only=of_seats
            )
        finally:
            # Whatever happened, nothing of it stays: not even the temporary table.
            transaction.set_rollback(True)
    return found


def _compute(
    *,
    contract: Contract,
    crm_settings: CrmSettings,
    overrides: SeatOverrides,
    only: Collection[int] | None,
) -> SavesPreview:
    per_seat: dict[int, dict[str, int]] = defaultdict(dict)
    found_samples: list[tuple[str, str, int, str]] = []
    with connection.cursor() as cursor:
        for name, kind in KINDS.items():
            desired_saves_create(
                cursor, kind, contract=contract, crm_settings=crm_settings, overrides=overrides
            )
            for seat_id, move, count in _moves(cursor, kind, contract=contract, only=only):
                per_seat[seat_id][f"{name}_{move}"] = count
            samples = _sample(cursor, kind, contract=contract, only=only)
            found_samples += [(name, *row) for row in samples]
            cursor.execute(f"DROP TABLE {DESIRED}")
    seats = _seat_rows(contract=contract, seat_ids=set(per_seat))
    for seat_id, counts in per_seat.items():
        seats[seat_id].counts.update(counts)
    changed = sorted((s for s in seats.values() if s.changes), key=lambda s: (s.name, s.email))
    totals = {f"{kind}_{move}": 0 for kind in KINDS for move in MOVES}
    for seat in changed:
        for key, value in seat.counts.items():
            totals[key] += value
    samples = [
        SampleRecord(kind=kind, move=move, name=record, seat_name=seats[seat_id].name)
        for kind, move, seat_id, record in found_samples
    ]
    return SavesPreview(seats=changed, totals=totals, samples=samples)


def _of_seats(only: Collection[int] | None, column: str) -> tuple[str, list[int]]:
    """``AND column IN (...)`` and its parameters, or nothing when every seat counts."""
    if only is None:
        return "", []
    ids = sorted(set(only)) or [0]
    return f"AND {column} IN ({', '.join(['%s'] * len(ids))})", ids


def _moves(
    cursor, kind, *, contract: Contract, only: Collection[int] | None
) -> list[tuple[int, str, int]]:
    """(seat, move, count) for the contract's seats: desired saves missing (``added``), and
    imported saves no longer desired, imported only (``removed``) or also by hand (``kept``).
    Read from ``DESIRED`` exactly as the import's INSERT and ``imported_saves_remove`` read it."""
    saved, target = kind.saved._meta.db_table, kind.target
    desired_only, desired_ids = _of_seats(only, "d.seat_id")
    saves_only, saves_ids = _of_seats(only, "s.seat_id")
    cursor.execute(
        f"""SELECT d.seat_id, COUNT(*) FROM {DESIRED} d
        LEFT JOIN {saved} x ON x.seat_id = d.seat_id AND x.{target} = d.target_id
        WHERE x.id IS NULL {desired_only} GROUP BY d.seat_id""",
        desired_ids,
    )
    rows = [(seat_id, "added", count) for seat_id, count in cursor.fetchall()]
    cursor.execute(
        f"""SELECT s.seat_id, s.saved_by_hand, COUNT(*) FROM {saved} s
        JOIN {Seat._meta.db_table} st ON st.id = s.seat_id
        WHERE st.contract_id = %s AND s.from_crm = %s {saves_only}
          AND NOT EXISTS (SELECT 1 FROM {DESIRED} d
                          WHERE d.seat_id = s.seat_id AND d.target_id = s.{target})
        GROUP BY s.seat_id, s.saved_by_hand""",
        [contract.pk, True, *saves_ids],
    )
    rows += [
        (seat_id, "kept" if by_hand else "removed", count)
        for seat_id, by_hand, count in cursor.fetchall()
    ]
    return rows


def _sample(
    cursor, kind, *, contract: Contract, only: Collection[int] | None
) -> list[tuple[str, int, str]]:
    """Up to ``SAMPLE_SIZE`` records added and as many removed: (move, seat, name), by name."""
    saved, target = kind.saved._meta.db_table, kind.target
    desired_only, desired_ids = _of_seats(only, "d.seat_id")
    saves_only, saves_ids = _of_seats(only, "s.seat_id")
    if kind.saved is SavedAccount:
        table, name = Company._meta.db_table, "t.name"
    else:
        table, name = Member._meta.db_table, "t.first_name || ' ' || t.last_name"
    cursor.execute(
        f"""SELECT d.seat_id, {name} FROM {DESIRED} d
        JOIN {table} t ON t.id = d.target_id
        LEFT JOIN {saved} x ON x.seat_id = d.seat_id AND x.{target} = d.target_id
        WHERE x.id IS NULL {desired_only} ORDER BY 2, 1 LIMIT %s""",
        [*desired_ids, SAMPLE_SIZE],
    )
    rows = [("added", seat_id, record) for seat_id, record in cursor.fetchall()]
    cursor.execute(
        f"""SELECT s.seat_id, {name} FROM {saved} s
        JOIN {Seat._meta.db_table} st ON st.id = s.seat_id
        JOIN {table} t ON t.id = s.{target}
        WHERE st.contract_id = %s AND s.from_crm = %s AND s.saved_by_hand = %s {saves_only}
          AND NOT EXISTS (SELECT 1 FROM {DESIRED} d
                          WHERE d.seat_id = s.seat_id AND d.target_id = s.{target})
        ORDER BY 2, 1 LIMIT %s""",
        [contract.pk, True, False, *saves_ids, SAMPLE_SIZE],
    )
    rows += [("removed", seat_id, record) for seat_id, record in cursor.fetchall()]
    return rows


def _seat_rows(*, contract: Contract, seat_ids: set[int]) -> dict[int, SeatPreview]:
    """A ``SeatPreview`` for each seat id, real or stand-in (``new_seat_id``): two queries."""
    rows = {}
    real = [pk for pk in seat_ids if pk > 0]
    for seat in Seat.objects.filter(contract=contract, pk__in=real).select_related("user"):
        rows[seat.pk] = SeatPreview(
            seat_id=seat.pk, name=seat.user.display_name, email=seat.user.email
        )
    new = [new_seat_id(pk) for pk in seat_ids if pk < 0]
    for user in CrmUser.objects.filter(contract=contract, pk__in=new):
        rows[new_seat_id(user.pk)] = SeatPreview(
            seat_id=new_seat_id(user.pk), name=str(user), email=user.email, new=True
        )
    return rows
