"""SQLite storage for one emulated org: rows, tombstones, versions, tokens and settings.

Every Dataverse row lives in one table keyed by (entity, id) with its columns as a JSON body.
A single org-wide counter gives each write a new version: it is the row's `versionnumber`, its
`@odata.etag`, and what change tracking compares against (a delta token is "everything with a
version above N"). Deletes leave a tombstone carrying the version of the delete.

Concurrency: one connection per thread, WAL mode so readers never wait for the writer, and one
process-wide lock around write transactions so writers never meet SQLite's busy errors. Nested
`write()` blocks become savepoints; that is what makes a `$batch` change set atomic.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from typing import NamedTuple

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rows (
    entity TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (entity, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rows_by_version ON rows (entity, version);
CREATE TABLE IF NOT EXISTS tombstones (
    entity TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
    PRIMARY KEY (entity, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tombstones_by_version ON tombstones (entity, version);
CREATE TABLE IF NOT EXISTS access_tokens (
    token TEXT PRIMARY KEY, user_id TEXT NOT NULL, client_id TEXT NOT NULL,
    resource TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token TEXT PRIMARY KEY, user_id TEXT NOT NULL, client_id TEXT NOT NULL,
    scope TEXT NOT NULL, expires_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS auth_codes (
    code TEXT PRIMARY KEY, body TEXT NOT NULL, expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS delta_tokens (
    entity TEXT NOT NULL, token TEXT NOT NULL, version INTEGER NOT NULL,
    issued_at REAL NOT NULL, expired INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (entity, token));
CREATE TABLE IF NOT EXISTS apps (client_id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS privileges (user_id TEXT PRIMARY KEY, body TEXT NOT NULL);
"""

# SQLite allows 999 host parameters in older builds; stay well below when chunking IN lists.
_IN_CHUNK = 500

# Columns rows are looked up by (a seat holder's opportunities, an account's contacts, a contact by
# email). Expression indexes turn those $filters into index searches on a big org (282 ms ->
# 1 ms on `huge`). Each expression must be the one odata.column_sql() builds, with NOCASE where
# the filter compares text.
INDEXED_COLUMNS = (
    ("_ownerid_value", ""),
    ("_parentcustomerid_value", ""),
    ("_parentaccountid_value", ""),
    ("_regardingobjectid_value", ""),
    ("emailaddress1", " COLLATE NOCASE"),
)


def _column_indexes(create: bool) -> str:
    statements = []
    for column, collate in INDEXED_COLUMNS:
        name = f"rows_by_{column.strip('_')}"
        if create:
            statements.append(f"CREATE INDEX IF NOT EXISTS {name} ON rows "
                              f"(entity, json_extract(body, '$.{column}'){collate});")
        else:
            statements.append(f"DROP INDEX IF EXISTS {name};")
    return "\n".join(statements)


class Row(NamedTuple):
    """One stored row: its id, current version and columns (or, when a query asked for a
    projection, the row's finished JSON text)."""

    id: str
    version: int
    body: dict | str


class DuplicateKey(Exception):
    """A row with this (entity, id) already exists."""


def dumps(value) -> str:
    """Compact JSON, the form bodies are stored and served in."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Store:
    """All persistent state of one emulated org, in one SQLite file."""

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()
        self._write_lock = threading.RLock()
        db = self.db
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'rows'").fetchone():
            # Bigger pages keep a 5,000-row page in fewer reads; only settable before tables.
            db.execute("PRAGMA page_size = 8192")
        db.execute("PRAGMA journal_mode = WAL")
        db.executescript(_SCHEMA)
        db.executescript(_column_indexes(create=True))
        db.execute("INSERT OR IGNORE INTO counters VALUES ('version', 1000)")

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; `write()` opens transactions explicitly)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=30)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA cache_size = -65536")  # 64 MB per connection
            self._local.conn = conn
            self._local.depth = 0
        return conn

    def close(self) -> None:
        """Close this thread's connection (other threads' connections die with them)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- transactions --------------------------------------------------------------------------

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        """A write transaction. Nested blocks are savepoints: an exception rolls back only the
        innermost block, and the exception still propagates."""
        db = self.db
        depth = self._local.depth
        if depth == 0:
            self._write_lock.acquire()
            try:
                db.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._write_lock.release()
                raise
        else:
            db.execute(f"SAVEPOINT level{depth}")
        self._local.depth = depth + 1
        try:
            yield
        except BaseException:
            self._local.depth = depth
            if depth == 0:
                db.execute("ROLLBACK")
                self._write_lock.release()
            else:
                db.execute(f"ROLLBACK TO level{depth}")
                db.execute(f"RELEASE level{depth}")
            raise
        self._local.depth = depth
        if depth == 0:
            try:
                db.execute("COMMIT")
            finally:
                self._write_lock.release()
        else:
            db.execute(f"RELEASE level{depth}")

    def next_version(self) -> int:
        """Take the next org-wide version number (call inside `write()`)."""
        return self.db.execute(
            "UPDATE counters SET value = value + 1 WHERE name = 'version' RETURNING value"
        ).fetchone()[0]

    def current_version(self) -> int:
        """The highest committed version: every change up to it is visible to readers."""
        return self.db.execute("SELECT value FROM counters WHERE name = 'version'").fetchone()[0]

    # -- settings ------------------------------------------------------------------------------

    def get_meta(self, key: str, default=None):
        found = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(found[0]) if found else default

    def set_meta(self, key: str, value) -> None:
        with self.write():
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, dumps(value)))

    def is_seeded(self) -> bool:
        return self.get_meta("org") is not None

    # -- bulk seeding --------------------------------------------------------------------------

    def seed(self, tables: Iterable[tuple[str, str, Iterable[dict]]], org_info: dict) -> int:
        """Insert every generated row in one transaction; returns the number of rows.

        `tables` yields (entity, primary key column, rows). Rows get consecutive versions.
        """
        db = self.db
        total = 0
        with self.write():
            # Indexes are rebuilt once at the end: cheaper than keeping them up to date per row.
            db.execute("DROP INDEX IF EXISTS rows_by_version")
            for statement in _column_indexes(create=False).splitlines():
                db.execute(statement)
            for entity, primary_id, rows in tables:
                first = self.current_version() + 1
                counter = [first - 1]

                def numbered(rows=rows, primary_id=primary_id, entity=entity, counter=counter):
                    for body in rows:
                        counter[0] += 1
                        body["versionnumber"] = counter[0]
                        yield entity, body[primary_id], counter[0], dumps(body)

                db.executemany("INSERT INTO rows VALUES (?, ?, ?, ?)", numbered())
                db.execute("UPDATE counters SET value = ? WHERE name = 'version'", (counter[0],))
                total += counter[0] - first + 1
            db.execute("CREATE INDEX rows_by_version ON rows (entity, version)")
            for statement in _column_indexes(create=True).splitlines():
                db.execute(statement)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('org', ?)", (dumps(org_info),))
        db.execute("ANALYZE")
        return total

    def clear_org(self) -> None:
        """Forget every row, tombstone and delta token (used before re-seeding)."""
        with self.write():
            for table in ("rows", "tombstones", "delta_tokens"):
                self.db.execute(f"DELETE FROM {table}")
            self.db.execute("DELETE FROM meta WHERE key = 'org'")

    # -- rows ----------------------------------------------------------------------------------

    def get_row(self, entity: str, row_id: str) -> Row | None:
        found = self.db.execute(
            "SELECT id, version, body FROM rows WHERE entity = ? AND id = ?", (entity, row_id)
        ).fetchone()
        return Row(found[0], found[1], json.loads(found[2])) if found else None

    def get_rows(self, entity: str, ids: Iterable[str]) -> dict[str, Row]:
        """The rows with these ids that exist, by id."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Row] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start:start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            for row_id, version, body in self.db.execute(
                f"SELECT id, version, body FROM rows WHERE entity = ? AND id IN ({marks})",
                (entity, *chunk),
            ):
                found[row_id] = Row(row_id, version, json.loads(body))
        return found

    def insert_row(self, entity: str, row_id: str, body: dict) -> int:
        """Create a row (inside `write()`); returns its version. Raises DuplicateKey."""
        version = self.next_version()
        body["versionnumber"] = version
        try:
            self.db.execute("INSERT INTO rows VALUES (?, ?, ?, ?)",
                            (entity, row_id, version, dumps(body)))
        except sqlite3.IntegrityError as error:
            raise DuplicateKey(f"{entity}({row_id})") from error
        # A re-created id is alive again: its old tombstone must not report it deleted.
        self.db.execute("DELETE FROM tombstones WHERE entity = ? AND id = ?", (entity, row_id))
        return version

    def update_row(self, entity: str, row_id: str, body: dict) -> int:
        """Replace a row's body (inside `write()`); returns the new version."""
        version = self.next_version()
        body["versionnumber"] = version
        self.db.execute("UPDATE rows SET version = ?, body = ? WHERE entity = ? AND id = ?",
                        (version, dumps(body), entity, row_id))
        return version

    def delete_row(self, entity: str, row_id: str, *, tombstone: bool = True) -> bool:
        """Delete a row (inside `write()`), leaving a tombstone for change tracking."""
        gone = self.db.execute("DELETE FROM rows WHERE entity = ? AND id = ?",
                               (entity, row_id)).rowcount
        if gone and tombstone:
            self.db.execute("INSERT OR REPLACE INTO tombstones VALUES (?, ?, ?)",
                            (entity, row_id, self.next_version()))
        return bool(gone)

    def delete_entity(self, entity: str) -> int:
        """Drop every row and tombstone of a table (a solution uninstall)."""
        with self.write():
            self.db.execute("DELETE FROM tombstones WHERE entity = ?", (entity,))
            self.db.execute("DELETE FROM delta_tokens WHERE entity = ?", (entity,))
            return self.db.execute("DELETE FROM rows WHERE entity = ?", (entity,)).rowcount

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT entity, count(*) FROM rows GROUP BY entity"))

    # -- queries -------------------------------------------------------------------------------

    def page(self, entity: str, *, where: str, params: list, order: list[tuple[str, bool]],
             after: list | None, limit: int,
             projection: str | None = None) -> tuple[list[Row], list[list]]:
        """Up to `limit` rows matching `where`, in `order`, after the key `after`.

        `order` is a list of (SQL expression, descending) ending with a unique column. Returns
        the rows and each row's key (its values of those expressions); the last key served is
        the next page's `after` (keyset paging: no OFFSET, so page 40 costs what page 1 costs).
        With a `projection` (an SQL expression building the row's JSON), `Row.body` is that
        text: SQLite then does the JSON work, several times faster than Python.
        """
        keys = ", ".join(expression for expression, _ in order)
        sql = f"SELECT id, version, {projection or 'body'}, {keys} FROM rows WHERE entity = ?"
        args: list = [entity]
        if where:
            sql += f" AND ({where})"
            args += params
        if after is not None:
            condition, condition_args = _after(order, after)
            sql += f" AND ({condition})"
            args += condition_args
        directions = ", ".join(f"{expr} {'DESC' if desc else 'ASC'}" for expr, desc in order)
        sql += f" ORDER BY {directions} LIMIT ?"
        args.append(limit)
        rows, row_keys = [], []
        decode = (lambda text: text) if projection else json.loads
        for record in self.db.execute(sql, args):
            rows.append(Row(record[0], record[1], decode(record[2])))
            row_keys.append(list(record[3:]))
        return rows, row_keys

    def count(self, entity: str, *, where: str = "", params: list | None = None) -> int:
        sql = "SELECT count(*) FROM rows WHERE entity = ?"
        if where:
            sql += f" AND ({where})"
        return self.db.execute(sql, [entity, *(params or [])]).fetchone()[0]

    def changed_rows(self, entity: str, since: int, until: int, after: int, limit: int,
                     projection: str | None = None) -> list[Row]:
        """Rows whose version is in (max(since, after), until], oldest change first."""
        records = self.db.execute(
            f"SELECT id, version, {projection or 'body'} FROM rows WHERE entity = ? "
            "AND version > ? AND version <= ? ORDER BY version LIMIT ?",
            (entity, max(since, after), until, limit),
        )
        decode = (lambda text: text) if projection else json.loads
        return [Row(row_id, version, decode(body)) for row_id, version, body in records]

    def deleted_rows(self, entity: str, since: int, until: int, after: int,
                     limit: int) -> list[tuple[str, int]]:
        """(id, version) of tombstones in (max(since, after), until], oldest first."""
        return self.db.execute(
            "SELECT id, version FROM tombstones WHERE entity = ? AND version > ?"
            " AND version <= ? ORDER BY version LIMIT ?",
            (entity, max(since, after), until, limit),
        ).fetchall()

    # -- delta tokens --------------------------------------------------------------------------

    def save_delta_token(self, entity: str, token: str, version: int) -> None:
        with self.write():
            self.db.execute("INSERT OR REPLACE INTO delta_tokens VALUES (?, ?, ?, ?, 0)",
                            (entity, token, version, time.time()))

    def find_delta_token(self, entity: str, token: str) -> tuple[int, float, bool] | None:
        """(version, issued_at, expired) of a token issued for this table, or None."""
        found = self.db.execute(
            "SELECT version, issued_at, expired FROM delta_tokens WHERE entity = ? AND token = ?",
            (entity, token),
        ).fetchone()
        return (found[0], found[1], bool(found[2])) if found else None

    def expire_delta_tokens(self) -> int:
        with self.write():
            return self.db.execute("UPDATE delta_tokens SET expired = 1").rowcount

    # -- identity ------------------------------------------------------------------------------

    def save_access_token(self, token: str, user_id: str, client_id: str, resource: str,
                          expires_at: float) -> None:
        with self.write():
            self.db.execute("INSERT INTO access_tokens VALUES (?, ?, ?, ?, ?)",
                            (token, user_id, client_id, resource, expires_at))

    def find_access_token(self, token: str) -> tuple[str, str, str, float] | None:
        """(user_id, client_id, resource, expires_at) of an issued access token."""
        return self.db.execute(
            "SELECT user_id, client_id, resource, expires_at FROM access_tokens WHERE token = ?",
            (token,),
        ).fetchone()

    def expire_access_tokens(self, now: float) -> int:
        with self.write():
            return self.db.execute("UPDATE access_tokens SET expires_at = ? WHERE expires_at > ?",
                                   (now, now)).rowcount

    def save_refresh_token(self, token: str, user_id: str, client_id: str, scope: str,
                           expires_at: float) -> None:
        with self.write():
            self.db.execute("INSERT INTO refresh_tokens VALUES (?, ?, ?, ?, ?, 0)",
                            (token, user_id, client_id, scope, expires_at))

    def find_refresh_token(self, token: str) -> tuple[str, str, str, float, bool] | None:
        """(user_id, client_id, scope, expires_at, revoked) of an issued refresh token."""
        found = self.db.execute(
            "SELECT user_id, client_id, scope, expires_at, revoked FROM refresh_tokens"
            " WHERE token = ?", (token,),
        ).fetchone()
        return (*found[:4], bool(found[4])) if found else None

    def revoke_refresh_tokens(self) -> int:
        with self.write():
            return self.db.execute("UPDATE refresh_tokens SET revoked = 1").rowcount

    def save_auth_code(self, code: str, body: dict, expires_at: float) -> None:
        with self.write():
            self.db.execute("INSERT INTO auth_codes VALUES (?, ?, ?, 0)",
                            (code, dumps(body), expires_at))

    def redeem_auth_code(self, code: str) -> tuple[dict, float, bool] | None:
        """Mark a code used; returns (body, expires_at, was_already_used) or None if unknown."""
        with self.write():
            found = self.db.execute(
                "SELECT body, expires_at, used FROM auth_codes WHERE code = ?", (code,)
            ).fetchone()
            if not found:
                return None
            self.db.execute("UPDATE auth_codes SET used = 1 WHERE code = ?", (code,))
        return json.loads(found[0]), found[1], bool(found[2])

    # -- apps and privileges -------------------------------------------------------------------

    def save_app(self, client_id: str, body: dict) -> None:
        with self.write():
            self.db.execute("INSERT OR REPLACE INTO apps VALUES (?, ?)", (client_id, dumps(body)))

    def find_app(self, client_id: str) -> dict | None:
        found = self.db.execute("SELECT body FROM apps WHERE client_id = ?",
                                (client_id,)).fetchone()
        return json.loads(found[0]) if found else None

    def load_privileges(self) -> dict[str, dict]:
        return {user_id: json.loads(body)
                for user_id, body in self.db.execute("SELECT user_id, body FROM privileges")}

    def save_privileges(self, user_id: str, body: dict) -> None:
        with self.write():
            self.db.execute("INSERT OR REPLACE INTO privileges VALUES (?, ?)",
                            (user_id, dumps(body)))

    def clear_privileges(self) -> None:
        with self.write():
            self.db.execute("DELETE FROM privileges")


def _after(order: list[tuple[str, bool]], key: list) -> tuple[str, list]:
    """The keyset condition "comes after `key` in `order`" as SQL.

    For keys (a, b, id): a > ? OR (a = ? AND b > ?) OR (a = ? AND b = ? AND id > ?), with < for
    descending columns. Row values would be shorter but cannot mix directions.
    """
    clauses, args = [], []
    for position, (expression, descending) in enumerate(order):
        parts, part_args = [], []
        for earlier in range(position):
            parts.append(f"{order[earlier][0]} = ?")
            part_args.append(key[earlier])
        parts.append(f"{expression} {'<' if descending else '>'} ?")
        part_args.append(key[position])
        clauses.append("(" + " AND ".join(parts) + ")")
        args += part_args
    return " OR ".join(clauses), args
