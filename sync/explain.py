"""*Why not imported?* For a CRM contact, account or seat: the rule that kept it out, in words.

The rules are the ones ``sync.evaluate`` applies in SQL, checked here one record at a time along
the same path, and the first one that fails is the answer:

1. ``no_open_opportunity``: no open opportunity has this contact or account (or, for a seat, is
   owned by its CRM user);
2. ``stage_before_gate``: its open opportunities are all before the pipeline stage;
3. ``owner_not_mapped``: the owners of those opportunities map to no seat (or, asked for one seat,
   they are someone else, or the seat maps to no CRM user);
4. ``seat_sync_off``: the owners' seats have CRM sync off;
5. ``no_network_match``: nobody in the prospecting network matches the record;
6. otherwise it is ``imported``, and the explanation names the seats it is saved for.

The ``*_explain`` functions take a page of records and make a fixed number of queries for all of
them, so the admin's records list and the seat holder's pages stay cheap.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q

from crm_settings.models import CrmSettings
from crm_settings.selectors import crm_settings_get
from network.models import SavedAccount, SavedLead
from seats.models import Contract, CrmSync, Seat
from sync.evaluate import stage_gate
from sync.models import CrmAccount, CrmContact, CrmOpportunity, CrmUser, SeatCrmUser


class Rule:
    IMPORTED = "imported"
    NO_OPEN_OPPORTUNITY = "no_open_opportunity"
    STAGE_BEFORE_GATE = "stage_before_gate"
    OWNER_NOT_MAPPED = "owner_not_mapped"
    SEAT_SYNC_OFF = "seat_sync_off"
    NO_NETWORK_MATCH = "no_network_match"

    LABELS = {
        IMPORTED: "Imported",
        NO_OPEN_OPPORTUNITY: "No open opportunity",
        STAGE_BEFORE_GATE: "Stage before the gate",
        OWNER_NOT_MAPPED: "Owner not mapped",
        SEAT_SYNC_OFF: "Seat sync off",
        NO_NETWORK_MATCH: "No network match",
    }


@dataclass
class Explanation:
    rule: str
    reason: str
    # The seats it is imported for (only when imported).
    seats: list[Seat] = field(default_factory=list)

    @property
    def imported(self) -> bool:
        return self.rule == Rule.IMPORTED

    @property
    def label(self) -> str:
        return Rule.LABELS[self.rule]


@dataclass
class _Facts:
    """What every explanation of one contract needs, read once per page."""

    crm_settings: CrmSettings
    gate: list[int] | None
    # CRM user id -> the seats mapped to that user.
    seats_by_owner: dict
    owner_names: dict

    def stage_name(self, value) -> str:
        for option in self.crm_settings.pipeline_stage_options:
            if option.get("value") == value:
                return option.get("label") or str(value)
        return "no stage" if value is None else str(value)

    def sync_on(self, seat: Seat) -> bool:
        return seat.crm_sync_on(auto_sync=self.crm_settings.auto_sync)

    def owner_name(self, owner_id) -> str:
        return self.owner_names.get(owner_id) or f"an unknown owner ({owner_id})"


def _facts(contract: Contract, owner_ids) -> _Facts:
    """Settings, and the seats and names of the given owners (3 queries)."""
    crm_settings = crm_settings_get(contract=contract)
    owners = {owner for owner in owner_ids if owner}
    seats_by_owner = defaultdict(list)
    links = SeatCrmUser.objects.filter(
        seat__contract=contract, crm_user__crm_id__in=owners
    ).select_related("seat__user", "crm_user")
    for link in links:
        seats_by_owner[link.crm_user.crm_id].append(link.seat)
    names = dict(
        CrmUser.objects.filter(contract=contract, crm_id__in=owners).values_list(
            "crm_id", "full_name"
        )
    )
    return _Facts(crm_settings, stage_gate(crm_settings), seats_by_owner, names)


def _names(seats) -> str:
    return ", ".join(sorted(seat.user.display_name for seat in seats))


def _explain(
    what: str, opportunities: list[dict], matched: bool, facts: _Facts, seat: Seat | None
) -> Explanation:
    """Walk the rules for one record over the opportunities that name it."""
    open_ones = [o for o in opportunities if o["state"] == CrmOpportunity.State.OPEN]
    if not open_ones:
        closed = f" ({len(opportunities)} closed)" if opportunities else ""
        return Explanation(
            Rule.NO_OPEN_OPPORTUNITY, f"No open opportunity in the CRM has this {what}{closed}."
        )
    gated = [o for o in open_ones if facts.gate is None or o["sales_stage"] in facts.gate]
    if not gated:
        stages = sorted({facts.stage_name(o["sales_stage"]) for o in open_ones})
        chosen = facts.crm_settings.pipeline_stage_label or facts.stage_name(
            facts.crm_settings.pipeline_stage
        )
        return Explanation(
            Rule.STAGE_BEFORE_GATE,
            f"Its open opportunities are at {', '.join(stages)}, before the pipeline stage "
            f"{chosen}.",
        )
    owners = {o["owner_id"] for o in gated}
    seats = [s for owner in owners for s in facts.seats_by_owner.get(owner, [])]
    if seat is not None:
        seats = [s for s in seats if s.pk == seat.pk]
    if not seats:
        names = ", ".join(sorted(facts.owner_name(owner) for owner in owners))
        if seat is not None:
            reason = f"Its open opportunities past the stage are owned by {names}, not by you."
        else:
            reason = f"Its open opportunities past the stage are owned by {names}, who has no seat."
        return Explanation(Rule.OWNER_NOT_MAPPED, reason)
    synced = [s for s in seats if facts.sync_on(s)]
    if not synced:
        return Explanation(Rule.SEAT_SYNC_OFF, f"CRM sync is off for {_names(seats)}.")
    if not matched:
        return Explanation(
            Rule.NO_NETWORK_MATCH,
            f"Nobody in the prospecting network matches this {what}, so there is nothing to save.",
        )
    return Explanation(Rule.IMPORTED, f"Imported for {_names(synced)}.", seats=synced)


_OPPORTUNITY_FIELDS = (
    "owner_id",
    "state",
    "sales_stage",
    "account_id",
    "contact_id",
    "customer_id",
)


def accounts_explain(
    *, contract: Contract, accounts: list[CrmAccount], seat: Seat | None = None
) -> dict[int, Explanation]:
    """{account pk: explanation} for a page of mirrored accounts (5 queries)."""
    by_account = defaultdict(list)
    opportunities = CrmOpportunity.objects.filter(
        contract=contract, account_id__in=[a.crm_id for a in accounts]
    ).values(*_OPPORTUNITY_FIELDS)
    for opportunity in opportunities:
        by_account[opportunity["account_id"]].append(opportunity)
    facts = _facts(contract, (o["owner_id"] for o in opportunities))
    return {
        a.pk: _explain("account", by_account[a.crm_id], a.company_id is not None, facts, seat)
        for a in accounts
    }


def contacts_explain(
    *, contract: Contract, contacts: list[CrmContact], seat: Seat | None = None
) -> dict[int, Explanation]:
    """{contact pk: explanation} for a page of mirrored contacts (5 queries)."""
    ids = [c.crm_id for c in contacts]
    by_contact = defaultdict(list)
    opportunities = CrmOpportunity.objects.filter(
        Q(contact_id__in=ids) | Q(customer_id__in=ids), contract=contract
    ).values(*_OPPORTUNITY_FIELDS)
    for opportunity in opportunities:
        for key in {opportunity["contact_id"], opportunity["customer_id"]} - {None}:
            by_contact[key].append(opportunity)
    facts = _facts(contract, (o["owner_id"] for o in opportunities))
    return {
        c.pk: _explain("contact", by_contact[c.crm_id], c.member_id is not None, facts, seat)
        for c in contacts
    }


def seats_explain(*, contract: Contract, seats: list[Seat]) -> dict[int, Explanation]:
    """{seat pk: explanation} for a page of seats (5 queries).

    For a seat the path starts with the seat itself: its role, its mapping to a CRM user and its
    sync switch; then the opportunities that user owns, the stage, and the network matches.
    """
    crm_settings = crm_settings_get(contract=contract)
    gate = stage_gate(crm_settings)
    links = {
        link.seat_id: link
        for link in SeatCrmUser.objects.filter(seat__in=seats).select_related("crm_user")
    }
    owners = {link.crm_user.crm_id for link in links.values() if link.crm_user}
    opportunities = defaultdict(lambda: {"open": 0, "gated": 0})
    rows = (
        CrmOpportunity.objects.filter(
            contract=contract, owner_id__in=owners, state=CrmOpportunity.State.OPEN
        )
        .values("owner_id", "sales_stage")
        .annotate(n=Count("id"))
    )
    for row in rows:
        opportunities[row["owner_id"]]["open"] += row["n"]
        if gate is None or row["sales_stage"] in gate:
            opportunities[row["owner_id"]]["gated"] += row["n"]
    saves = defaultdict(int)
    for model in (SavedAccount, SavedLead):
        counted = model.objects.filter(seat__in=seats, from_crm=True).values("seat")
        for row in counted.annotate(n=Count("id")):
            saves[(model, row["seat"])] = row["n"]

    explanations = {}
    for seat in seats:
        link = links.get(seat.pk)
        explanations[seat.pk] = _explain_seat(
            seat,
            link=link,
            opportunities=opportunities[link.crm_user.crm_id] if link and link.crm_user else None,
            accounts=saves[(SavedAccount, seat.pk)],
            leads=saves[(SavedLead, seat.pk)],
            crm_settings=crm_settings,
        )
    return explanations


def _explain_seat(seat, *, link, opportunities, accounts, leads, crm_settings) -> Explanation:
    if not seat.has_seat_features:
        return Explanation(
            Rule.SEAT_SYNC_OFF, "Admin only seats have no Accounts or Leads to import into."
        )
    if link is None or link.crm_user is None:
        reason = link.reason if link and link.reason else "No sync has mapped this seat yet."
        return Explanation(Rule.OWNER_NOT_MAPPED, f"Not Matched: {reason}")
    if not seat.crm_sync_on(auto_sync=crm_settings.auto_sync):
        if seat.crm_sync == CrmSync.OFF:
            reason = "CRM sync is disabled for this seat on Seat Management."
        else:
            reason = "Auto sync is No and CRM sync is not enabled for this seat."
        return Explanation(Rule.SEAT_SYNC_OFF, reason)
    name = link.crm_user.full_name or link.crm_user.email
    if not opportunities["open"]:
        return Explanation(Rule.NO_OPEN_OPPORTUNITY, f"{name} owns no open opportunity in the CRM.")
    if not opportunities["gated"]:
        return Explanation(
            Rule.STAGE_BEFORE_GATE,
            f"All {opportunities['open']} open opportunities of {name} are before the pipeline "
            f"stage {crm_settings.pipeline_stage_label}.",
        )
    if not (accounts or leads):
        return Explanation(
            Rule.NO_NETWORK_MATCH,
            f"None of the accounts and contacts on {name}'s {opportunities['gated']} "
            "opportunities matches anyone in the prospecting network.",
        )
    return Explanation(
        Rule.IMPORTED,
        f"{accounts} accounts and {leads} leads imported from {opportunities['gated']} "
        "opportunities.",
        seats=[seat],
    )
