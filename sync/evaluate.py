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

The whole desired set is one SQL query (``_desired_sql``), never loaded into Python, and four
statements per kind bring the saves in line with it; each touches only rows that change:

1. insert imported saves that are missing;
2. mark hand-made saves that now also have a reason as from CRM (and refresh a save's CRM record
   when the record it came from changed);
3. clear the mark on hand-made saves that lost their last reason: "saves the seat holder made by
   hand are never touched" beyond the import's own mark;
4. delete imported-only saves that lost their last reason.

It is plain SQL that PostgreSQL and SQLite (3.35+) both run: CTEs, ``INSERT ... SELECT ... ON
CONFLICT DO NOTHING``, and ``RETURNING`` to count the rows written (Python's sqlite3 reports no
row count for a statement that starts with ``WITH``). The ORM cannot express it: mirror rows
refer to each other by CRM id, not by foreign key.
"""

from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from crm_settings.models import CrmSettings
from network.models import SavedAccount, SavedLead
from seats.models import SEAT_ROLES, Contract, CrmSync, Seat
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


def sync_modes(crm_settings: CrmSettings) -> list[str]:
    """The seat ``crm_sync`` values that take part: *Enable CRM Sync*, and the default with auto."""
    return [CrmSync.ON, CrmSync.DEFAULT] if crm_settings.auto_sync else [CrmSync.ON]


def _q(model, field: str | None = None) -> str:
    """The quoted table (or column) name of a model, so the SQL follows the models."""
    if field is None:
        return connection.ops.quote_name(model._meta.db_table)
    return connection.ops.quote_name(model._meta.get_field(field).column)


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


@dataclass(frozen=True)
class _Kind:
    """Saved accounts or saved leads, as the SQL needs to see them."""

    saved: type  # SavedAccount / SavedLead
    target: str  # the saved model's network field: "company" / "member"
    mirror: type  # CrmAccount / CrmContact
    mirror_target: str  # the mirror's network field: "company" / "member"
    # The opportunity columns that name the mirror row: account, or contact and customer.
    links: tuple[str, ...]


ACCOUNTS = _Kind(SavedAccount, "company", CrmAccount, "company", ("account_id",))
LEADS = _Kind(SavedLead, "member", CrmContact, "member", ("contact_id", "customer_id"))


def _desired_sql(kind: _Kind, *, contract: Contract, crm_settings: CrmSettings):
    """``WITH desired(seat_id, target_id, crm_record_id) AS (...)`` and its parameters."""
    params: list = [contract.pk, *SEAT_ROLES, *sync_modes(crm_settings)]
    seat_owners = f"""
        SELECT s.id AS seat_id, u.{_q(CrmUser, "crm_id")} AS owner_id
        FROM {_q(Seat)} s
        JOIN {_q(SeatCrmUser)} l ON l.{_q(SeatCrmUser, "seat")} = s.id
        JOIN {_q(CrmUser)} u ON u.id = l.{_q(SeatCrmUser, "crm_user")}
        WHERE s.{_q(Seat, "contract")} = %s
          AND s.{_q(Seat, "role")} IN ({_placeholders(SEAT_ROLES)})
          AND s.{_q(Seat, "crm_sync")} IN ({_placeholders(sync_modes(crm_settings))})"""
    gate = stage_gate(crm_settings)
    stage_sql = ""
    if gate is not None:
        stage_sql = f"AND o.{_q(CrmOpportunity, 'sales_stage')} IN ({_placeholders(gate)})"
    links = []
    for link in kind.links:
        links.append(f"""
            SELECT o.{_q(CrmOpportunity, "owner_id")} AS owner_id,
                   o.{_q(CrmOpportunity, link)} AS record_id
            FROM {_q(CrmOpportunity)} o
            WHERE o.{_q(CrmOpportunity, "contract")} = %s
              AND o.{_q(CrmOpportunity, "state")} = %s {stage_sql}
              AND o.{_q(CrmOpportunity, link)} IS NOT NULL""")
        params += [contract.pk, CrmOpportunity.State.OPEN, *(gate or [])]
    target = _q(kind.mirror, kind.mirror_target)
    # A network company or member can be matched by several CRM rows: the save links to one.
    sql = f"""
        WITH seat_owners AS ({seat_owners}),
        gated AS ({" UNION ".join(links)}),
        grouped AS (
            SELECT so.seat_id, m.{target} AS target_id, MIN(m.id) AS mirror_pk
            FROM gated g
            JOIN seat_owners so ON so.owner_id = g.owner_id
            JOIN {_q(kind.mirror)} m ON m.{_q(kind.mirror, "contract")} = %s
                                   AND m.{_q(kind.mirror, "crm_id")} = g.record_id
            WHERE m.{target} IS NOT NULL
            GROUP BY so.seat_id, m.{target}
        ),
        desired AS (
            SELECT gr.seat_id, gr.target_id, m.{_q(kind.mirror, "crm_id")} AS crm_record_id
            FROM grouped gr JOIN {_q(kind.mirror)} m ON m.id = gr.mirror_pk
        )"""
    params.append(contract.pk)
    return sql, params


@dataclass
class SaveCounts:
    added: int = 0  # imported saves inserted
    updated: int = 0  # from-CRM mark set or cleared on a hand-made save, or its record relinked
    removed: int = 0  # imported-only saves deleted


def _apply(kind: _Kind, *, contract: Contract, crm_settings: CrmSettings, now) -> SaveCounts:
    """Run the four statements for one kind of save (see the module docstring)."""
    desired, params = _desired_sql(kind, contract=contract, crm_settings=crm_settings)
    saved = _q(kind.saved)
    seat, target = _q(kind.saved, "seat"), _q(kind.saved, kind.target)
    from_crm, by_hand = _q(kind.saved, "from_crm"), _q(kind.saved, "saved_by_hand")
    record, imported_at = _q(kind.saved, "crm_record_id"), _q(kind.saved, "imported_at")
    saved_at = _q(kind.saved, "saved_at")
    of_contract = f"{seat} IN (SELECT id FROM {_q(Seat)} WHERE {_q(Seat, 'contract')} = %s)"
    matches = f"d.seat_id = {saved}.{seat} AND d.target_id = {saved}.{target}"
    counts = SaveCounts()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""{desired}
            INSERT INTO {saved} ({seat}, {target}, {by_hand}, {from_crm}, {record}, {saved_at},
                                 {imported_at})
            SELECT d.seat_id, d.target_id, %s, %s, d.crm_record_id, %s, %s FROM desired d
            WHERE NOT EXISTS (SELECT 1 FROM {saved} x
                              WHERE x.{seat} = d.seat_id AND x.{target} = d.target_id)
            ON CONFLICT ({seat}, {target}) DO NOTHING
            RETURNING 1""",
            [*params, False, True, now, now],
        )
        counts.added = len(cursor.fetchall())
        cursor.execute(
            f"""{desired}
            UPDATE {saved}
            SET {from_crm} = %s, {imported_at} = COALESCE({imported_at}, %s),
                {record} = (SELECT d.crm_record_id FROM desired d WHERE {matches})
            WHERE {of_contract}
              AND EXISTS (SELECT 1 FROM desired d WHERE {matches}
                          AND ({saved}.{from_crm} = %s OR {saved}.{record} IS NULL
                               OR {saved}.{record} <> d.crm_record_id))
            RETURNING 1""",
            [*params, True, now, contract.pk, False],
        )
        counts.updated = len(cursor.fetchall())
        lost_reason = f"""{of_contract} AND {from_crm} = %s AND {by_hand} = %s
            AND NOT EXISTS (SELECT 1 FROM desired d WHERE {matches})"""
        cursor.execute(
            f"""{desired}
            UPDATE {saved} SET {from_crm} = %s, {record} = NULL, {imported_at} = NULL
            WHERE {lost_reason} RETURNING 1""",
            [*params, False, contract.pk, True, True],
        )
        counts.updated += len(cursor.fetchall())
        cursor.execute(
            f"{desired} DELETE FROM {saved} WHERE {lost_reason} RETURNING 1",
            [*params, contract.pk, True, False],
        )
        counts.removed = len(cursor.fetchall())
    return counts


@transaction.atomic
def saves_evaluate(*, contract: Contract, crm_settings: CrmSettings) -> dict[str, int]:
    """Bring every seat's imported Accounts and Leads in line with the mirror; returns counts.

    One transaction, so a seat holder never sees half of a change. Running it twice changes
    nothing the second time.
    """
    # Raw SQL gets the value the ORM would store (SQLite keeps naive UTC text).
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    counts = {}
    for name, kind in (("accounts", ACCOUNTS), ("leads", LEADS)):
        result = _apply(kind, contract=contract, crm_settings=crm_settings, now=now)
        counts |= {f"{name}_{what}": value for what, value in result.__dict__.items()}
    return counts
