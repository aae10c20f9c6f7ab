"""Deciding the imported saves: from the mirror to each seat's saved Accounts and Leads, in SQL.

The rule (DESIGN §4, the seed's "Configure Your Sales Navigator CRM Settings"): for each seat with
CRM sync on and a mapped CRM user, take that user's **open** opportunities whose stage is at or
beyond the chosen one (every open one with *Not Sure*). Then

- the opportunity's account, when it matches a network company, is a saved **Account**;
- the opportunity's contact (``parentcontactid``) and its customer when the customer is a contact
  (``customerid``), when they match a network member, are saved **Leads**.

Only the people on the deal become leads, not every contact of its account: an account can hold
hundreds of contacts who have nothing to do with the opportunity, and the seat holder prospects
the deal's people.

The desired set is computed by one SQL query into a temporary table (never loaded into Python),
then four statements per kind bring the saves in line with it; each touches only rows that
change:

1. insert imported saves that are missing;
2. mark hand-made saves that now also have a reason as from CRM (and relink a save whose CRM
   record changed);
3. and 4. take away the imported saves that lost their last reason, through the network's one
   rule for it (``network.imported.imported_saves_remove``): delete the imported-only ones and
   clear the mark on the hand-made ones, "saves the seat holder made by hand are never touched"
   beyond the import's own mark.

It is plain SQL that PostgreSQL and SQLite (3.33+) both run: CTEs, temporary tables,
``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` and ``UPDATE ... FROM``. The ORM cannot express
it: mirror rows refer to each other by CRM id, not by foreign key.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import BooleanField, F, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from crm_settings.models import CrmSettings
from network.imported import imported_saves_remove
from network.models import SavedAccount, SavedLead
from seats.models import SEAT_ROLES, Contract, CrmSync, Seat, crm_sync_modes, crm_sync_on_q
from sync.models import CrmAccount, CrmContact, CrmOpportunity, CrmUser, SeatCrmUser


def stage_gate(crm_settings: CrmSettings) -> list[int] | None:
    """The salesstage values that pass the gate, or None for *Not Sure* (every open one).

    "At or beyond" follows the pipeline order saved with the admin's choice; a stage that is not
    among those options (the org's stages changed since) lets only that exact value through.
    """
    if crm_settings.pipeline_stage is None:
        return None
    rank = crm_settings.stage_rank(crm_settings.pipeline_stage)
    if rank is None:
        return [crm_settings.pipeline_stage]
    return [option["value"] for option in crm_settings.pipeline_stage_options[rank:]]


@dataclass(frozen=True)
class SeatOverrides:
    """What-ifs about the seats, for a preview (``sync.preview``); the import passes none.

    The pipeline stage and the auto-sync answer are overridden by passing an unsaved copy of the
    contract's ``CrmSettings`` with the answers changed; these are what is not in the settings.
    """

    # Seat pk -> whether it takes part in sync, whatever its own mode says (*Enable / Disable
    # CRM Sync*). Admin only seats never take part.
    sync: Mapping[int, bool] = field(default_factory=dict)
    # CRM users (pks) who would get a new seat that follows the contract's auto-sync answer
    # (*Assign seats from CRM*); each stands as the seat ``-pk``, which no real seat has.
    new_seats_for: Collection[int] = ()
    # Only these seats' desired saves (real pks, or ``new_seat_id`` stand-ins), or every seat's:
    # a seat's desired saves depend on no other seat, so a preview of one seat's change need not
    # compute the whole contract's.
    only: Collection[int] | None = None


def new_seat_id(crm_user_pk: int) -> int:
    """The stand-in seat id of a CRM user's seat-to-be in a preview (``SeatOverrides``)."""
    return -crm_user_pk


def _seat_owners(
    *, contract: Contract, crm_settings: CrmSettings, overrides: SeatOverrides | None = None
) -> tuple[str, tuple]:
    """``SELECT seat_id, owner_id`` of the contract's seats that take part in sync
    (``crm_sync_on_q``, the rule's one definition) with the CRM id of the user each maps to, and
    its parameters; with ``overrides``, as if those seats' sync were changed and the new seats
    existed."""
    overrides = overrides or SeatOverrides()
    taking_part = crm_sync_on_q(auto_sync=crm_settings.auto_sync)
    forced_on = [pk for pk, on in overrides.sync.items() if on]
    forced_off = [pk for pk, on in overrides.sync.items() if not on]
    if forced_on:
        taking_part |= Q(pk__in=forced_on, role__in=SEAT_ROLES)
    if forced_off:
        taking_part &= ~Q(pk__in=forced_off)
    seats = (
        Seat.objects.filter(contract=contract)
        .filter(taking_part)
        .filter(crm_link__crm_user__isnull=False)
        .order_by()
        .values_list("pk", "crm_link__crm_user__crm_id")
    )
    new_seats = list(overrides.new_seats_for)
    if overrides.only is not None:
        seats = seats.filter(pk__in=[pk for pk in overrides.only if pk > 0] or [0])
        new_seats = [pk for pk in new_seats if new_seat_id(pk) in set(overrides.only)]
    sql, params = seats.query.sql_with_params()
    # A new seat follows the contract's answer (``CrmSync.DEFAULT``): the same rule, asked of a
    # seat holder that does not exist yet.
    if new_seats and CrmSync.DEFAULT in crm_sync_modes(auto_sync=crm_settings.auto_sync):
        new = (
            CrmUser.objects.filter(contract=contract, pk__in=new_seats)
            .order_by()
            .annotate(seat_id=F("pk") * -1)
            .values_list("seat_id", "crm_id")
        )
        new_sql, new_params = new.query.sql_with_params()
        sql, params = f"{sql} UNION ALL {new_sql}", (*params, *new_params)
    return sql, params


# The desired saves of the kind being applied; a temporary table lives in this connection only.
DESIRED = "sync_desired_saves"


def _table(model) -> str:
    return model._meta.db_table


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


@dataclass(frozen=True)
class _Kind:
    """Saved accounts or saved leads, as the SQL needs to see them."""

    saved: type  # SavedAccount / SavedLead
    target: str  # the saved model's network column: "company_id" / "member_id"
    mirror: type  # CrmAccount / CrmContact
    mirror_target: str  # the mirror's network column: "company_id" / "member_id"
    # The opportunity columns that name the mirror row: account, or contact and customer.
    links: tuple[str, ...]


ACCOUNTS = _Kind(SavedAccount, "company_id", CrmAccount, "company_id", ("account_id",))
LEADS = _Kind(SavedLead, "member_id", CrmContact, "member_id", ("contact_id", "customer_id"))


def _desired_select(
    kind: _Kind,
    *,
    contract: Contract,
    crm_settings: CrmSettings,
    overrides: SeatOverrides | None = None,
):
    """``SELECT seat_id, target_id, crm_record_id`` of the saves the rules want, and parameters.

    1. ``seat_owners``: the contract's seats that take part in sync, with the CRM id of the
       user each maps to.
    2. ``gated``: (owner, CRM record) of every open opportunity past the gate, for each link
       (account; contact and customer). ``customerid`` names the opportunity's account on most
       opportunities; only a customer that is not the account can be a contact.
    3. ``grouped``: one row per (seat, network company or member) through the mirror rows'
       matches; several CRM rows can match one network row, and the save links to one of them.
    """
    owners_sql, owners_params = _seat_owners(
        contract=contract, crm_settings=crm_settings, overrides=overrides
    )
    gate = stage_gate(crm_settings)
    stage_sql = f"AND o.sales_stage IN ({_placeholders(gate)})" if gate is not None else ""
    links, link_params = [], []
    for link in kind.links:
        not_the_account = "AND (o.account_id IS NULL OR o.customer_id <> o.account_id)"
        links.append(f"""
            SELECT o.owner_id, o.{link} AS record_id
            FROM {_table(CrmOpportunity)} o
            WHERE o.contract_id = %s AND o.state = %s {stage_sql}
              AND o.{link} IS NOT NULL {not_the_account if link == "customer_id" else ""}""")
        link_params += [contract.pk, CrmOpportunity.State.OPEN, *(gate or [])]
    target, mirror = kind.mirror_target, _table(kind.mirror)
    sql = f"""
        WITH seat_owners (seat_id, owner_id) AS ({owners_sql}),
        gated AS ({" UNION ALL ".join(links)}),
        grouped AS (
            SELECT so.seat_id, m.{target} AS target_id, MIN(m.id) AS mirror_pk
            FROM gated g
            JOIN seat_owners so ON so.owner_id = g.owner_id
            JOIN {mirror} m ON m.contract_id = %s AND m.crm_id = g.record_id
            WHERE m.{target} IS NOT NULL
            GROUP BY so.seat_id, m.{target}
        )
        SELECT gr.seat_id, gr.target_id, m.crm_id AS crm_record_id
        FROM grouped gr JOIN {mirror} m ON m.id = gr.mirror_pk"""
    return sql, [*owners_params, *link_params, contract.pk]


def desired_saves_create(
    cursor,
    kind: _Kind,
    *,
    contract: Contract,
    crm_settings: CrmSettings,
    overrides: SeatOverrides | None = None,
) -> None:
    """Fill the temporary table ``DESIRED`` with the saves of ``kind`` the rules want
    (``_desired_select``): ``seat_id, target_id, crm_record_id``, one row per seat and target.

    The one home of the desired set: the import brings the saves in line with it (``_apply``)
    and the preview compares the saves with it (``sync.preview``), with ``crm_settings`` and
    ``overrides`` saying what if. Nothing else is written.
    """
    select, params = _desired_select(
        kind, contract=contract, crm_settings=crm_settings, overrides=overrides
    )
    cursor.execute(f"DROP TABLE IF EXISTS {DESIRED}")
    cursor.execute(f"CREATE TEMPORARY TABLE {DESIRED} AS {select}", params)
    cursor.execute(f"CREATE UNIQUE INDEX {DESIRED}_key ON {DESIRED} (seat_id, target_id)")
    # A new table has no statistics; without them PostgreSQL plans the joins below as if
    # it held one row.
    cursor.execute(f"ANALYZE {DESIRED}")


@dataclass
class SaveCounts:
    added: int = 0  # imported saves inserted
    updated: int = 0  # from-CRM mark set or cleared on a hand-made save, or its record relinked
    removed: int = 0  # imported-only saves deleted


def _apply(kind: _Kind, *, contract: Contract, crm_settings: CrmSettings, now) -> SaveCounts:
    """Compute the desired saves into a temporary table, then bring the saves in line with it."""
    saved, target = _table(kind.saved), kind.target
    # The contract's saves without a desired row. ``seat__in`` keeps the statements on the saved
    # table alone (no join), which the correlated reference to it below needs.
    undesired = kind.saved.objects.filter(
        seat__in=Seat.objects.filter(contract=contract).values("pk")
    ).filter(
        RawSQL(
            f"""NOT EXISTS (SELECT 1 FROM {DESIRED} d
                WHERE d.seat_id = {saved}.seat_id AND d.target_id = {saved}.{target})""",
            [],
            output_field=BooleanField(),
        )
    )
    counts = SaveCounts()
    with connection.cursor() as cursor:
        desired_saves_create(cursor, kind, contract=contract, crm_settings=crm_settings)
        cursor.execute(
            f"""INSERT INTO {saved} (seat_id, {target}, saved_by_hand, from_crm, crm_record_id,
                                     saved_at, imported_at)
            SELECT d.seat_id, d.target_id, %s, %s, d.crm_record_id, %s, %s
            FROM {DESIRED} d
            LEFT JOIN {saved} x ON x.seat_id = d.seat_id AND x.{target} = d.target_id
            WHERE x.id IS NULL
            ON CONFLICT (seat_id, {target}) DO NOTHING""",
            [False, True, now, now],
        )
        counts.added = cursor.rowcount
        cursor.execute(
            f"""UPDATE {saved}
            SET from_crm = %s, crm_record_id = d.crm_record_id,
                imported_at = COALESCE({saved}.imported_at, %s)
            FROM {DESIRED} d
            WHERE d.seat_id = {saved}.seat_id AND d.target_id = {saved}.{target}
              AND ({saved}.from_crm = %s OR {saved}.crm_record_id IS NULL
                   OR {saved}.crm_record_id <> d.crm_record_id)""",
            [True, now, False],
        )
        counts.updated = cursor.rowcount
        counts.removed, unmarked = imported_saves_remove(saves=undesired)
        counts.updated += unmarked
        cursor.execute(f"DROP TABLE {DESIRED}")
    return counts


# The kinds of saves, by the name their counts carry ("accounts_added", "leads_removed", ...).
KINDS = {"accounts": ACCOUNTS, "leads": LEADS}


def saves_evaluate(
    *, contract: Contract, crm_settings: CrmSettings, kinds=tuple(KINDS)
) -> dict[str, int]:
    """Bring every seat's imported saves of ``kinds`` in line with the mirror; returns counts.

    Each kind is one transaction, so a seat holder never sees half of a change to their Accounts
    or to their Leads. The import decides the Accounts as soon as the accounts and opportunities
    are read, while the contacts are still coming (``sync.services``). Running it twice changes
    nothing the second time.
    """
    # Raw SQL gets the value the ORM would store (SQLite keeps naive UTC text).
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    counts = {}
    for name in kinds:
        with transaction.atomic():
            result = _apply(KINDS[name], contract=contract, crm_settings=crm_settings, now=now)
        counts |= {f"{name}_{what}": value for what, value in result.__dict__.items()}
    return counts


def saves_inputs(*, contract: Contract, crm_settings: CrmSettings) -> tuple:
    """What decides the saves besides the mirror: the gate, the auto-sync answer, and each seat's
    role, sync choice and CRM user. When these are equal at two moments, so are the desired saves
    of an unchanged mirror. One query."""
    seats = Seat.objects.filter(contract=contract).order_by("pk")
    return (
        stage_gate(crm_settings),
        crm_settings.auto_sync,
        tuple(seats.values_list("pk", "role", "crm_sync", "crm_link__crm_user_id")),
    )


def won_saves_record(*, contract: Contract) -> dict[str, int]:
    """Record, on each newly won opportunity, whether its owner had the deal saved in the portal.

    Won revenue counts the wins "whose account or contacts were saved in the portal before the
    win". The import's own saves of a deal go when it is won (an imported save that loses its
    last reason is removed), so they are looked at here, once, when the import first finds the
    opportunity won and before the Accounts and Leads are decided again:

    1. each won opportunity not yet looked at gets the earliest ``saved_at`` among the saves of
       the seat(s) mapped to its owner of the account's network company and of the contact's
       (and contact customer's) network member, or None, and is marked as looked at;
    2. an opportunity looked at that is no longer won (reopened in the CRM) loses the mark, so a
       later win is looked at again.

    Two statements on partial indexes (the few rows concerned), the same SQL on PostgreSQL and
    SQLite. Returns how many rows each changed.
    """
    opportunity = _table(CrmOpportunity)
    links, users = _table(SeatCrmUser), _table(CrmUser)
    saves = f"""
        SELECT MIN(t.saved_at) FROM (
            SELECT sa.saved_at FROM {_table(SavedAccount)} sa
            JOIN {links} l ON l.seat_id = sa.seat_id
            JOIN {users} u ON u.id = l.crm_user_id
            JOIN {_table(CrmAccount)} a ON a.company_id = sa.company_id
            WHERE u.contract_id = %s AND u.crm_id = o.owner_id
              AND a.contract_id = %s AND a.crm_id = o.account_id
            UNION ALL
            SELECT sl.saved_at FROM {_table(SavedLead)} sl
            JOIN {links} l ON l.seat_id = sl.seat_id
            JOIN {users} u ON u.id = l.crm_user_id
            JOIN {_table(CrmContact)} c ON c.member_id = sl.member_id
            WHERE u.contract_id = %s AND u.crm_id = o.owner_id
              AND c.contract_id = %s AND c.crm_id IN (o.contact_id, o.customer_id)
        ) t"""
    won = CrmOpportunity.State.WON
    with connection.cursor() as cursor:
        # The predicates spelt as the partial indexes' (``CrmOpportunity.Meta.indexes``).
        cursor.execute(
            f"""UPDATE {opportunity} SET won_saves_checked = %s, first_saved_at = NULL
            WHERE contract_id = %s AND "won_saves_checked" AND NOT ("state" = %s)""",
            [False, contract.pk, won],
        )
        reopened = cursor.rowcount
        cursor.execute(
            f"""UPDATE {opportunity} AS o SET won_saves_checked = %s, first_saved_at = ({saves})
            WHERE o.contract_id = %s AND ("state" = %s AND NOT "won_saves_checked")""",
            [True, *[contract.pk] * 4, contract.pk, won],
        )
        return {"won_checked": cursor.rowcount, "won_reopened": reopened}
