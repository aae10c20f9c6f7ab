"""Notes of what changed since the saves were last decided, so the next decision re-decides only
those saves (``sync.evaluate``): the one home of "what can change a save".

A save is a (seat, network company) or (seat, network member) pair. Its decision depends on the
seat (role, sync choice, CRM user: compared with what the last decision saw, ``SavesDecided``),
the settings (gate, auto-sync: any change re-decides everything) and the mirror. For the mirror,
each write notes the network rows whose saves it may change (``SavesPending``), in the same
transaction as the write:

- an account or contact whose match changed (new, matched again, relinked or deleted): its old
  and its new company or member;
- an opportunity whose owner, state, stage, account, contact or customer changed (new or
  deleted): the companies and members of the records it named before and names now;
- a full read of a table: every save of the kinds it feeds (one note per page, so a read resumed
  in another run still has one);
- *Disable CRM Sync* taking a seat's imported saves away: that seat.

The notes are a superset of what changed (a note of something that changes nothing only costs
its re-decision), which is what makes the incremental decision equal to a full one.
"""

from django.db import connection

from sync.models import CrmAccount, CrmContact, CrmOpportunity, SavesPending

# The kinds of saves each mirror table decides.
FEEDS = {"account": ("accounts",), "contact": ("leads",), "opportunity": ("accounts", "leads")}
PENDING = SavesPending._meta.db_table


def _differs(a: str, b: str) -> str:
    """``a`` and ``b`` differ, a NULL differing from a value (both databases' spelling)."""
    if connection.vendor == "postgresql":
        return f"{a} IS DISTINCT FROM {b}"
    return f"{a} IS NOT {b}"


def pending_note_all(*, cursor, contract_id: int, table: str) -> None:
    """Note that every save of the kinds ``table`` feeds is to be decided again."""
    kinds = FEEDS.get(table, ())
    if kinds:
        rows = ", ".join(["(%s, %s, NULL, NULL)"] * len(kinds))
        cursor.execute(
            f"INSERT INTO {PENDING} (contract_id, kind, target_id, seat_id) VALUES {rows}",
            [value for kind in kinds for value in (contract_id, kind)],
        )


def pending_note_seats(*, contract_id: int, seat_ids) -> None:
    """Note that these seats' saves of every kind are to be decided again."""
    SavesPending.objects.bulk_create(
        SavesPending(contract_id=contract_id, kind=kind, seat_id=seat_id)
        for seat_id in seat_ids
        for kind in ("accounts", "leads")
    )


def _match_changes(*, mirror: str, target: str, kind: str, rows: str) -> str:
    """For accounts and contacts: ``INSERT`` the old and new targets of the rows whose match
    differs between ``rows`` (a stage, with its new values, or nothing for deleted rows) and the
    mirror. ``rows`` is a FROM clause naming the new rows ``s``."""
    differs = _differs("m." + target, "s." + target)
    sql = f"""
        INSERT INTO {PENDING} (contract_id, kind, target_id)
        SELECT DISTINCT %(contract)s, '{kind}', t.target_id FROM (
            SELECT m.{target} AS target_id
            FROM {rows} JOIN {mirror} m ON m.contract_id = %(contract)s AND m.crm_id = s.crm_id
            WHERE m.{target} IS NOT NULL AND {differs}
            UNION ALL
            SELECT s.{target}
            FROM {rows} LEFT JOIN {mirror} m
              ON m.contract_id = %(contract)s AND m.crm_id = s.crm_id
            WHERE s.{target} IS NOT NULL AND (m.id IS NULL OR {differs})
        ) t"""
    return sql


_DECIDING = ("owner_id", "state", "sales_stage", "account_id", "contact_id", "customer_id")


def _opportunity_changes(*, rows: str, deleted: bool) -> str:
    """For opportunities: ``INSERT`` the companies and members of the records named before and
    after by the opportunities in ``rows`` whose deciding columns changed (or that are new, or
    deleted: then ``rows`` are the mirror's own rows)."""
    opportunity = CrmOpportunity._meta.db_table
    if deleted:
        changed = f"""
            SELECT s.account_id AS new_account, s.contact_id AS new_contact,
                   s.customer_id AS new_customer, s.account_id AS old_account,
                   s.contact_id AS old_contact, s.customer_id AS old_customer
            FROM {rows}"""
    else:
        differs = " OR ".join(_differs(f"m.{name}", f"s.{name}") for name in _DECIDING)
        changed = f"""
            SELECT s.account_id AS new_account, s.contact_id AS new_contact,
                   s.customer_id AS new_customer, m.account_id AS old_account,
                   m.contact_id AS old_contact, m.customer_id AS old_customer
            FROM {rows} LEFT JOIN {opportunity} m
              ON m.contract_id = %(contract)s AND m.crm_id = s.crm_id
            WHERE m.id IS NULL OR {differs}"""
    accounts = CrmAccount._meta.db_table
    contacts = CrmContact._meta.db_table
    return f"""
        WITH changed AS ({changed}),
        account_ids (crm_id) AS (
            SELECT new_account FROM changed UNION SELECT old_account FROM changed),
        contact_ids (crm_id) AS (
            SELECT new_contact FROM changed UNION SELECT new_customer FROM changed
            UNION SELECT old_contact FROM changed UNION SELECT old_customer FROM changed)
        INSERT INTO {PENDING} (contract_id, kind, target_id)
        SELECT %(contract)s, 'accounts', a.company_id FROM {accounts} a
        WHERE a.contract_id = %(contract)s AND a.company_id IS NOT NULL
          AND a.crm_id IN (SELECT crm_id FROM account_ids)
        UNION
        SELECT %(contract)s, 'leads', c.member_id FROM {contacts} c
        WHERE c.contract_id = %(contract)s AND c.member_id IS NOT NULL
          AND c.crm_id IN (SELECT crm_id FROM contact_ids)"""


_TARGETS = {"account": "company_id", "contact": "member_id"}


def pending_note_stage(*, cursor, contract_id: int, table: str, stage: str) -> None:
    """Note the saves a staged page may change, before it is upserted into the mirror (one
    statement). ``stage`` holds the new rows, matched."""
    if table == "opportunity":
        sql = _opportunity_changes(rows=f"{stage} s", deleted=False)
    elif table in _TARGETS:
        model = CrmAccount if table == "account" else CrmContact
        sql = _match_changes(
            mirror=model._meta.db_table,
            target=_TARGETS[table],
            kind=FEEDS[table][0],
            rows=f"{stage} s",
        )
    else:
        return
    cursor.execute(sql, {"contract": contract_id})


def pending_note_deleted(*, cursor, contract_id: int, table: str, crm_ids) -> None:
    """Note the saves that deleting these mirror rows (by CRM id) may change, before they go
    (one statement)."""
    if not crm_ids or table not in FEEDS:
        return
    model = {"account": CrmAccount, "contact": CrmContact}.get(table, CrmOpportunity)
    field = model._meta.get_field("crm_id")
    params = {"contract": contract_id}
    for index, crm_id in enumerate(crm_ids):
        params[f"id{index}"] = field.get_db_prep_value(crm_id, connection)
    marks = ", ".join(f"%(id{index})s" for index in range(len(crm_ids)))
    rows = (
        f"(SELECT * FROM {model._meta.db_table} "
        f"WHERE contract_id = %(contract)s AND crm_id IN ({marks})) s"
    )
    if table == "opportunity":
        sql = _opportunity_changes(rows=rows, deleted=True)
    else:
        target, kind = _TARGETS[table], FEEDS[table][0]
        sql = f"""
            INSERT INTO {PENDING} (contract_id, kind, target_id)
            SELECT DISTINCT %(contract)s, '{kind}', s.{target} FROM {rows}
            WHERE s.{target} IS NOT NULL"""
    cursor.execute(sql, params)
