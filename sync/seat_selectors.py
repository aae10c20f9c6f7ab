"""Reads for Seat Management and *Assign seats from CRM*, shaped for a fixed number of queries.

Seat Management shows facts owned by the apps above seats: the contract's connection and its
*Auto sync all seat holders with CRM?* answer (crm_settings), each seat's CRM user (sync) and what
the import saved for it (network). They are computed here by the database, as annotations, so
that filtering 10,000 seats on *In CRM* pages correctly and a page costs the same queries whatever
the contract's size (DESIGN §3: pages read facts owned higher up through selectors).
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat, Lower

from common.expressions import latest_of
from common.lists import Sorts
from crm_settings.models import CrmConnection, CrmSettings
from network.models import SavedAccount, SavedLead
from seats.models import SEAT_ROLES, Contract, Seat, crm_sync_on_q
from sync.models import CrmUser

# The contract's answer before an admin ever saved CRM Settings.
_AUTO_SYNC_DEFAULT = CrmSettings._meta.get_field("auto_sync").default


def seats_with_crm_state(seats: QuerySet[Seat]) -> QuerySet[Seat]:
    """``seats`` annotated with their CRM sync state, for any mix of contracts.

    - ``sync_on``: whether the seat takes part in CRM sync: the admin's *Enable CRM Sync* /
      *Disable CRM Sync* for the seat, else the contract's auto-sync answer. None for Admin only
      seats, which have no seat features to sync. Built from ``crm_sync_on_q``, as the import is.
    - ``crm_user_name``, ``crm_user_email``: the mapped CRM user, None when *Not Matched*;
      ``crm_reason``: why not (None when the mapping was never checked).
    - ``in_crm``: the *In CRM* badge, "the CRM sync is successfully activated for an individual":
      the contract is connected, the seat's sync is on and it maps to a CRM user.
    """
    auto_sync = Coalesce(
        Subquery(CrmSettings.objects.filter(contract=OuterRef("contract")).values("auto_sync")[:1]),
        Value(_AUTO_SYNC_DEFAULT),
    )
    return seats.annotate(
        sync_on=Case(
            When(~Q(role__in=SEAT_ROLES), then=Value(None)),
            When(crm_sync_on_q(auto_sync=auto_sync), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(null=True),
        ),
        crm_user_name=F("crm_link__crm_user__full_name"),
        crm_user_email=F("crm_link__crm_user__email"),
        crm_reason=F("crm_link__reason"),
        in_crm=Case(
            When(
                Q(sync_on=True)
                & Q(crm_link__crm_user__isnull=False)
                & Exists(CrmConnection.objects.filter(contract=OuterRef("contract"))),
                then=Value(True),
            ),
            default=Value(False),
            output_field=BooleanField(),
        ),
    )


def _last_import(model) -> Subquery:
    """When the import last saved something for the outer seat (None if never)."""
    return Subquery(
        model.objects.filter(seat=OuterRef("pk"), from_crm=True)
        # Without the model's default ordering, which would join the company or member.
        .order_by()
        .values("seat")
        .annotate(last=Max("imported_at"))
        .values("last")
    )


# The seat list's sortable columns (ascending; "-key" reverses them). Seats the import never saved
# for come last whichever way the list is sorted by last import.
SEAT_SORTS = Sorts(
    {
        "name": [Lower("sort_name"), Lower("user__email")],
        "email": [Lower("user__email")],
        "role": ["role", Lower("user__email")],
        "last_import": ["last_import", Lower("user__email")],
    },
    default="name",
)


def seat_list(
    *,
    contract: Contract,
    search: str = "",
    role: str = "",
    in_crm: bool | None = None,
    matched: bool | None = None,
    sync_on: bool | None = None,
    sort: str = "name",
) -> QuerySet[Seat]:
    """The contract's seats for Seat Management, searched, filtered and sorted in the database.

    ``search`` looks in name and email; ``role`` is a Role value; ``in_crm``, ``matched`` (mapped
    to a CRM user, else *Not Matched*) and ``sync_on`` filter when not None. Admin only seats are
    neither matched nor unmatched, nor synced or not: those filters leave them out.
    """
    seats = seats_with_crm_state(
        Seat.objects.filter(contract=contract).select_related("user")
    ).annotate(
        full_name=Concat("user__first_name", Value(" "), "user__last_name"),
        sort_name=Case(
            When(Q(user__first_name="") & Q(user__last_name=""), then=F("user__email")),
            default=F("full_name"),
        ),
    )
    if search:
        seats = seats.filter(
            Q(user__email__icontains=search)
            | Q(user__first_name__icontains=search)
            | Q(user__last_name__icontains=search)
            | Q(full_name__icontains=search)
        )
    if role:
        seats = seats.filter(role=role)
    if in_crm is not None:
        seats = seats.filter(in_crm=in_crm)
    if matched is not None:
        seats = seats.filter(role__in=SEAT_ROLES, crm_link__crm_user__isnull=not matched)
    if sync_on is not None:
        seats = seats.filter(sync_on=sync_on)
    if sort.removeprefix("-") == "last_import":
        # Each subquery runs once a row, and only when the list is sorted by it.
        seats = seats.annotate(
            last_import=latest_of(_last_import(SavedAccount), _last_import(SavedLead))
        )
    return seats.order_by(*SEAT_SORTS.ordering(sort))


def _imported_count(model) -> Coalesce:
    """How many saves the import made for the outer seat (0 if none)."""
    counted = (
        model.objects.filter(seat=OuterRef("pk"), from_crm=True)
        .order_by()
        .values("seat")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(counted), Value(0))


# The seat list's columns in a CSV, in order (``seat_list_export``).
SEAT_EXPORT_COLUMNS = (
    "full_name", "user__email", "role", "crm_user_name", "crm_user_email", "in_crm", "sync_on",
    "accounts_from_crm", "leads_from_crm", "last_account_import", "last_lead_import",
)  # fmt: skip


def seat_list_export(*, contract: Contract, **filters) -> QuerySet:
    """The seat list with these filters (``seat_list``'s), each seat with what the import saved
    for it, as ``SEAT_EXPORT_COLUMNS`` tuples: one query, streamed by the CSV export."""
    return (
        seat_list(contract=contract, **filters)
        .annotate(
            accounts_from_crm=_imported_count(SavedAccount),
            leads_from_crm=_imported_count(SavedLead),
            last_account_import=_last_import(SavedAccount),
            last_lead_import=_last_import(SavedLead),
        )
        .values_list(*SEAT_EXPORT_COLUMNS)
    )


@dataclass(frozen=True)
class SeatCrmCounts:
    """The contract's seats by CRM state, as Seat Management's filters count them."""

    in_crm: int
    not_matched: int
    sync_off: int


def seat_crm_counts(*, contract: Contract) -> SeatCrmCounts:
    """How many seats are *In CRM*, *Not Matched* to a CRM user, and have CRM sync off: what
    ``seat_list(in_crm=True)``, ``seat_list(matched=False)`` and ``seat_list(sync_on=False)``
    would list (1 query)."""
    # The aggregates' names differ from the annotations': one of the same name would replace
    # the annotation it filters on.
    counts = seats_with_crm_state(Seat.objects.filter(contract=contract).order_by()).aggregate(
        in_crm_count=Count("pk", filter=Q(in_crm=True)),
        not_matched_count=Count(
            "pk", filter=Q(role__in=SEAT_ROLES, crm_link__crm_user__isnull=True)
        ),
        sync_off_count=Count("pk", filter=Q(sync_on=False)),
    )
    return SeatCrmCounts(
        in_crm=counts["in_crm_count"],
        not_matched=counts["not_matched_count"],
        sync_off=counts["sync_off_count"],
    )


@dataclass(frozen=True)
class ImportStats:
    """What the import saved for one seat: its Accounts and Leads from CRM, and when last."""

    accounts: int = 0
    leads: int = 0
    last_import: datetime | None = None


def seat_import_stats(*, seats: list[Seat]) -> dict[int, ImportStats]:
    """Import figures for the seats of one page, by seat id: two queries for any page size."""
    found = {}
    for kind, model in (("accounts", SavedAccount), ("leads", SavedLead)):
        found[kind] = {
            row["seat"]: row
            for row in model.objects.filter(seat__in=[seat.pk for seat in seats], from_crm=True)
            .order_by()
            .values("seat")
            .annotate(count=Count("pk"), last=Max("imported_at"))
        }
    stats = {}
    for seat in seats:
        accounts = found["accounts"].get(seat.pk, {})
        leads = found["leads"].get(seat.pk, {})
        times = [t for t in (accounts.get("last"), leads.get("last")) if t is not None]
        stats[seat.pk] = ImportStats(
            accounts=accounts.get("count", 0),
            leads=leads.get("count", 0),
            last_import=max(times, default=None),
        )
    return stats


def crm_users_assignable(
    *, contract: Contract, search: str = "", everyone: bool = False
) -> QuerySet[CrmUser]:
    """The CRM users *Assign seats from CRM* offers: enabled people with an email, no seat yet.

    Disabled users are left out, and so is anyone whose email or sign-in name already holds a
    seat on any contract (a person holds one seat only). Application users (integrations) and
    users whose access mode is not a person's (``CrmUser.NOT_PEOPLE``: non-interactive, support,
    delegated admin) are left out too unless ``everyone``: a select-all must not tick the
    integration user.
    """
    holders = Seat.objects.filter(
        Q(user__email=OuterRef("email")) | Q(user__email=OuterRef("domain_name"))
    )
    users = (
        CrmUser.objects.filter(contract=contract, is_disabled=False)
        .exclude(email="")
        .exclude(Exists(holders))
    )
    if not everyone:
        users = users.filter(is_application_user=False).exclude(access_mode__in=CrmUser.NOT_PEOPLE)
    if search:
        users = users.filter(Q(full_name__icontains=search) | Q(email__icontains=search))
    return users.order_by(Lower("full_name"), "email", "pk")
