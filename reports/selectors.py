"""Reads for the reports, from the import's mirror, the saves and the audit trail.

Each returns a queryset or a few rows already shaped for its page (grouped in the database,
never summed in Python across rows it did not group), so a page costs the same queries whatever
the contract holds. The CSV exports stream the same querysets (``exports``).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncMonth

from crm_settings.models import CrmSettings
from exports import queryset_rows
from seats.models import SEAT_ROLES, AuditEntry, Contract, Seat
from sync.models import (
    CrmAccount,
    CrmContact,
    CrmCurrency,
    CrmOpportunity,
    MatchMethod,
    SeatCrmUser,
)

# --- Won revenue ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Currency:
    """What a won value is counted in, as the CRM names it."""

    key: str  # the currency's CRM id as text, or "" for the base currency / an unknown one
    code: str
    symbol: str
    name: str

    @property
    def label(self) -> str:
        return self.code or self.name or "Unknown currency"


# Amounts are shown and exported to the cent (the mirror keeps four decimals, as Dataverse).
CENTS = Decimal("0.01")
BASE_CURRENCY = Currency(key="", code="", symbol="", name="Base currency")
UNKNOWN_CURRENCY = Currency(key="", code="", symbol="", name="No currency")


@dataclass(frozen=True)
class WonFigures:
    """Won opportunities of one group (a seat holder, a month, or all) in one currency."""

    currency: Currency
    won: int
    total: Decimal
    # Won with no amount in the won-value field: counted, not added.
    without_value: int
    # Won while their owner had the account or people saved in the portal (before the close date).
    saved_before_win: int

    @property
    def saved_share(self) -> int:
        return round(100 * self.saved_before_win / self.won) if self.won else 0


@dataclass
class WonRow:
    """One line of a breakdown: its key and its figures, one per currency."""

    key: object
    figures: list[WonFigures] = field(default_factory=list)


def base_currency_column(crm_settings: CrmSettings) -> bool:
    """Whether the won-value field is a ``_base`` column: its amounts are all in the org's base
    currency (Dataverse keeps ``x_base`` = ``x`` / the exchange rate), not the row's own."""
    return crm_settings.won_value_column_or_default.endswith("_base")


def _owner_seat(contract: Contract) -> Subquery:
    """The id of the seat holder (Admin or Seat holder) mapped to the outer row's owner."""
    return Subquery(
        SeatCrmUser.objects.filter(
            seat__contract=contract,
            seat__role__in=SEAT_ROLES,
            crm_user__contract=contract,
            crm_user__crm_id=OuterRef("owner_id"),
        )
        .order_by("seat_id")
        .values("seat_id")[:1]
    )


def won_opportunities(*, contract: Contract, start: date, end: date) -> QuerySet[CrmOpportunity]:
    """The contract's won opportunities owned by seat holders, closed from ``start`` to ``end``
    (both included), with ``seat_id`` and ``month`` (the first day of the close month)."""
    return (
        CrmOpportunity.objects.filter(
            contract=contract,
            state=CrmOpportunity.State.WON,
            actual_close_date__gte=start,
            actual_close_date__lte=end,
        )
        .annotate(seat_id=_owner_seat(contract), month=TruncMonth("actual_close_date"))
        .filter(seat_id__isnull=False)
    )


_FIGURES = {
    "won": Count("pk"),
    "total": Sum("won_value"),
    "without_value": Count("pk", filter=Q(won_value__isnull=True)),
    # Saved before the close date: before the day it was won began.
    "saved_before_win": Count("pk", filter=Q(first_saved_at__lt=F("actual_close_date"))),
}


def _grouped(opportunities: QuerySet, keys: tuple[str, ...], *, by_currency: bool):
    """Figures per ``keys`` (and per currency unless every amount is in the base currency): a
    queryset of dicts, or a list of one when there is nothing to group by."""
    group = (*keys, "currency_id") if by_currency else keys
    if not group:
        figures = opportunities.aggregate(**_FIGURES)
        return [figures] if figures["won"] else []
    return opportunities.order_by().values(*group).annotate(**_FIGURES)


def _currencies(contract: Contract) -> dict[str, Currency]:
    return {
        str(crm_id): Currency(key=str(crm_id), code=code, symbol=symbol, name=name)
        for crm_id, code, symbol, name in CrmCurrency.objects.filter(contract=contract).values_list(
            "crm_id", "iso_code", "symbol", "name"
        )
    }


def _figures(row: dict, currencies: dict[str, Currency], *, by_currency: bool) -> WonFigures:
    if by_currency:
        key = str(row["currency_id"]) if row["currency_id"] else ""
        currency = currencies.get(key, UNKNOWN_CURRENCY)
    else:
        currency = BASE_CURRENCY
    return WonFigures(
        currency=currency,
        won=row["won"],
        total=(row["total"] or Decimal(0)).quantize(CENTS),
        without_value=row["without_value"],
        saved_before_win=row["saved_before_win"],
    )


def _rows(grouped, key: str, currencies, *, by_currency: bool) -> list[WonRow]:
    rows: dict[object, WonRow] = {}
    for row in grouped:
        line = rows.setdefault(row[key], WonRow(key=row[key]))
        line.figures.append(_figures(row, currencies, by_currency=by_currency))
    for line in rows.values():
        line.figures.sort(key=lambda f: f.currency.label)
    return list(rows.values())


@dataclass
class WonRevenue:
    """The won-revenue report of one period."""

    start: date
    end: date
    base_currency: bool
    totals: list[WonFigures]
    by_month: list[WonRow]
    # One page of seat holders (``won_revenue_seats``), each with their figures.
    by_seat: list[WonRow]


def won_revenue_report(
    *, contract: Contract, crm_settings: CrmSettings, start: date, end: date, seat_ids: list[int]
) -> WonRevenue:
    """Totals per currency, per month and for the seat holders ``seat_ids`` (one page): four
    queries, whatever the number of opportunities, months or seat holders."""
    by_currency = not base_currency_column(crm_settings)
    won = won_opportunities(contract=contract, start=start, end=end)
    currencies = _currencies(contract) if by_currency else {}
    totals = [
        _figures(row, currencies, by_currency=by_currency)
        for row in _grouped(won, (), by_currency=by_currency)
    ]
    totals.sort(key=lambda f: f.currency.label)
    by_month = _rows(
        _grouped(won, ("month",), by_currency=by_currency).order_by("-month"),
        "month",
        currencies,
        by_currency=by_currency,
    )
    by_seat = _rows(
        _grouped(won.filter(seat_id__in=seat_ids), ("seat_id",), by_currency=by_currency),
        "seat_id",
        currencies,
        by_currency=by_currency,
    )
    order = {seat_id: position for position, seat_id in enumerate(seat_ids)}
    by_seat.sort(key=lambda row: order[row.key])
    return WonRevenue(start, end, not by_currency, totals, by_month, by_seat)


def won_revenue_seats(*, contract: Contract, start: date, end: date) -> QuerySet[Seat]:
    """The seat holders with a win in the period, by name: what the by-seat table pages over."""
    seat_ids = won_opportunities(contract=contract, start=start, end=end).values("seat_id")
    return (
        Seat.objects.filter(contract=contract, pk__in=seat_ids)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__email", "pk")
    )


def won_revenue_export_rows(
    *, contract: Contract, crm_settings: CrmSettings, start: date, end: date
):
    """(seat holder, email, month, currency, won, total, without a value, saved before the win)
    per seat holder, month and currency, for the CSV: streamed, two small lookups first."""
    by_currency = not base_currency_column(crm_settings)
    currencies = _currencies(contract) if by_currency else {}
    seats = {
        pk: (f"{first} {last}".strip() or email, email)
        for pk, first, last, email in Seat.objects.filter(contract=contract).values_list(
            "pk", "user__first_name", "user__last_name", "user__email"
        )
    }
    won = won_opportunities(contract=contract, start=start, end=end)
    grouped = _grouped(won, ("seat_id", "month"), by_currency=by_currency).order_by(
        "seat_id", "month"
    )
    for row in queryset_rows(grouped):
        figures = _figures(row, currencies, by_currency=by_currency)
        name, email = seats.get(row["seat_id"], ("", ""))
        yield (
            name,
            email,
            row["month"].strftime("%Y-%m") if row["month"] else "",
            figures.currency.label,
            figures.won,
            figures.total,
            figures.without_value,
            figures.saved_before_win,
        )


# --- Match report --------------------------------------------------------------------------------

# entity: (label, mirror model, its methods in matching order)
MATCH_ENTITIES = {
    "contacts": (
        "Contacts",
        CrmContact,
        (MatchMethod.EMAIL, MatchMethod.PROFILE_URL, MatchMethod.NAME_COMPANY),
    ),
    "accounts": ("Accounts", CrmAccount, (MatchMethod.DOMAIN, MatchMethod.NAME)),
}


# How each method reads after "matched by".
METHOD_PHRASES = {
    MatchMethod.EMAIL: "email",
    MatchMethod.PROFILE_URL: "LinkedIn profile URL",
    MatchMethod.NAME_COMPANY: "name and company",
    MatchMethod.DOMAIN: "website domain",
    MatchMethod.NAME: "name",
}


@dataclass(frozen=True)
class MethodShare:
    method: str
    label: str
    count: int
    share: float

    @property
    def phrase(self) -> str:
        return METHOD_PHRASES[self.method]


@dataclass(frozen=True)
class MatchSummary:
    """How one entity's mirrored rows matched the network."""

    entity: str
    label: str
    total: int
    matched: int
    methods: tuple[MethodShare, ...]

    @property
    def unmatched(self) -> int:
        return self.total - self.matched

    @property
    def matched_share(self) -> float:
        return 100 * self.matched / self.total if self.total else 0.0

    @property
    def unmatched_share(self) -> float:
        return 100 * self.unmatched / self.total if self.total else 0.0


def match_summaries(*, contract: Contract) -> list[MatchSummary]:
    """Matched and unmatched counts and shares per entity and per method (one query each)."""
    summaries = []
    for entity, (label, model, methods) in MATCH_ENTITIES.items():
        counts = defaultdict(int)
        for method, count in (
            model.objects.filter(contract=contract)
            .order_by()
            .values_list("match_method")
            .annotate(count=Count("pk"))
        ):
            counts[method] += count
        total = sum(counts.values())
        matched = total - counts[MatchMethod.NONE]
        shares = tuple(
            MethodShare(
                method=method,
                label=MatchMethod(method).label,
                count=counts[method],
                share=100 * counts[method] / total if total else 0.0,
            )
            for method in methods
        )
        summaries.append(MatchSummary(entity, label, total, matched, shares))
    return summaries


def match_records(
    *, contract: Contract, entity: str, method: str = MatchMethod.NONE, search: str = ""
) -> QuerySet:
    """The entity's mirrored rows matched by ``method`` ("" = not matched, the default), searched
    by name, email or website, in a stable order; contacts carry their account's name."""
    _, model, _ = MATCH_ENTITIES[entity]
    records = model.objects.filter(contract=contract, match_method=method)
    if entity == "contacts":
        records = records.annotate(
            account_name=Subquery(
                CrmAccount.objects.filter(contract=contract, crm_id=OuterRef("account_id")).values(
                    "name"
                )[:1]
            )
        )
        if search:
            records = records.filter(
                Q(full_name__icontains=search)
                | Q(email__icontains=search)
                | Q(job_title__icontains=search)
            )
        return records.order_by("last_name", "first_name", "pk")
    if search:
        records = records.filter(Q(name__icontains=search) | Q(website__icontains=search))
    return records.order_by("name", "pk")


# --- Audit trail ---------------------------------------------------------------------------------


def audit_entries(
    *,
    contract: Contract,
    action: str = "",
    search: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEntry]:
    """The contract's audit entries, newest first: of one action code, by or about someone
    (``search`` in who acted and what it was about), between two dates (both included)."""
    entries = AuditEntry.objects.filter(contract=contract)
    if action:
        entries = entries.filter(action=action)
    if search:
        entries = entries.filter(Q(actor_label__icontains=search) | Q(target__icontains=search))
    if since:
        entries = entries.filter(created_at__date__gte=since)
    if until:
        entries = entries.filter(created_at__date__lte=until)
    return entries.order_by("-created_at", "-id")
