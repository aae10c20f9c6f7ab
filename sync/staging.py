"""A staging table per mirror table: where a page of rows waits, is matched, and is upserted.

Writing 350,000 rows through Django model instances and ``bulk_create`` spends most of its time
building objects and SQL in Python (measured: about 30 of 73 seconds of a huge import). Instead a
page goes in as plain tuples:

1. ``reset``: a temporary table shaped like the mirror table (``CREATE TEMPORARY TABLE ... AS
   SELECT ... WHERE 1 = 0`` copies its column types on PostgreSQL and SQLite alike), emptied;
2. ``fill``: the page's tuples, with PostgreSQL's ``COPY`` (one round trip for the page), or one
   ``executemany`` elsewhere, values prepared by the model fields as the ORM would;
3. matching to the network runs as UPDATE statements on it (``sync.matching``);
4. ``upsert``: one ``INSERT ... SELECT ... ON CONFLICT (contract_id, crm_id) DO UPDATE`` into the
   mirror.

A temporary table belongs to one database connection, so two workers never see each other's.
"""

import re

from django.db import connection

# COPY's text format: a backslash, tab, newline or carriage return inside a value is escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def copy_text(rows: list[tuple]) -> bytes:
    """The rows as COPY's text format: tab-separated values, ``\\N`` for NULL, one per line.

    Values are text (GUIDs and dates included: the columns parse them), numbers and booleans.
    This runs for every value of a big import, so text (the common case) is handled inline and
    only escaped when it holds a character that needs it.
    """
    needs_escape = _NEEDS_ESCAPE.search
    return "".join(
        "\t".join(
            [
                (value.translate(_COPY_ESCAPES) if needs_escape(value) else value)
                if value.__class__ is str
                else _copy_other(value)
                for value in row
            ]
        )
        + "\n"
        for row in rows
    ).encode()


def _copy_other(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


# SQLite needs a WHERE clause between ``INSERT ... SELECT`` and ``ON CONFLICT`` to parse the
# statement (its documented "parsing ambiguity"); PostgreSQL accepts it as well.
_ALWAYS = "WHERE 1 = 1"


class Stage:
    """The staging table of one mirror model, with the columns a page fills."""

    def __init__(self, model, columns: tuple[str, ...]):
        self.model = model
        self.mirror = model._meta.db_table
        self.name = f"{self.mirror}_stage"
        self.columns = columns
        self._fields = [model._meta.get_field(name) for name in columns]
        self._column_list = ", ".join(columns)

    def reset(self, cursor) -> None:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.name} AS "
            f"SELECT {self._column_list} FROM {self.mirror} WHERE 1 = 0"
        )
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {self.name}")
        else:
            cursor.execute(f"DELETE FROM {self.name}")

    def fill(self, cursor, rows: list[tuple], copy_payload: bytes | None = None) -> None:
        """Put the rows (tuples in ``columns`` order, wire values) into the stage.

        On PostgreSQL ``copy_payload`` is the same rows already in COPY's text format
        (``copy_text``), made beforehand by the thread that converts pages.
        """
        if not rows:
            return
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {self.name} ({self._column_list}) FROM STDIN") as copy:
                copy.write(copy_payload if copy_payload is not None else copy_text(rows))
            return
        placeholders = ", ".join(["%s"] * len(self.columns))
        prepared = [
            [
                field.get_db_prep_save(value, connection)
                for field, value in zip(self._fields, row, strict=True)
            ]
            for row in rows
        ]
        cursor.executemany(
            f"INSERT INTO {self.name} ({self._column_list}) VALUES ({placeholders})", prepared
        )

    def count_existing(self, cursor, contract_id: int) -> int:
        """How many staged rows the contract's mirror already holds."""
        cursor.execute(
            f"SELECT COUNT(*) FROM {self.name} s JOIN {self.mirror} m "
            "ON m.contract_id = %s AND m.crm_id = s.crm_id",
            [contract_id],
        )
        return cursor.fetchone()[0]

    def upsert(self, cursor, contract_id: int) -> tuple[int, int]:
        """Insert the staged rows into the mirror, or update the ones it has (by CRM id).

        Returns how many rows were new and how many matched the network. PostgreSQL says both
        in the same statement (a row it inserted has no ``xmax`` yet); elsewhere the staged rows
        are counted first.
        """
        postgresql = connection.vendor == "postgresql"
        matching = "match_method" in self.columns
        existing = matched = 0
        if not postgresql:
            existing = self.count_existing(cursor, contract_id)
            matched = self.count_matched(cursor) if matching else 0
        updates = ", ".join(f"{name} = excluded.{name}" for name in self.columns[1:])
        upsert = (
            f"INSERT INTO {self.mirror} (contract_id, {self._column_list}) "
            f"SELECT %s, {self._column_list} FROM {self.name} {_ALWAYS} "
            f"ON CONFLICT (contract_id, crm_id) DO UPDATE SET {updates}"
        )
        if not postgresql:
            cursor.execute(upsert, [contract_id])
            return cursor.rowcount - existing, matched
        # A row the statement inserted has no xmax yet; the counts come back as one row.
        found = "match_method <> ''" if matching else "FALSE"
        cursor.execute(
            f"WITH written AS ({upsert} RETURNING xmax = 0 AS inserted, {found} AS found) "
            "SELECT COUNT(*) FILTER (WHERE inserted), COUNT(*) FILTER (WHERE found) FROM written",
            [contract_id],
        )
        return cursor.fetchone()

    def count_matched(self, cursor) -> int:
        """How many staged rows the matching steps matched to the network."""
        cursor.execute(f"SELECT COUNT(*) FROM {self.name} WHERE match_method <> ''")
        return cursor.fetchone()[0]

    def take_unmatched(self, cursor, contract_id: int, target: str) -> int:
        """Stage the contract's mirror rows that match nobody yet; returns how many."""
        cursor.execute(
            f"INSERT INTO {self.name} ({self._column_list}) SELECT {self._column_list} "
            f"FROM {self.mirror} WHERE contract_id = %s AND {target} IS NULL",
            [contract_id],
        )
        return cursor.rowcount

    def write_matches(self, cursor, contract_id: int, target: str) -> None:
        """Copy the matches found in the stage back to the mirror rows."""
        cursor.execute(
            f"UPDATE {self.mirror} SET {target} = s.{target}, match_method = s.match_method "
            f"FROM {self.name} s WHERE {self.mirror}.contract_id = %s "
            f"AND {self.mirror}.crm_id = s.crm_id AND s.{target} IS NOT NULL",
            [contract_id],
        )
