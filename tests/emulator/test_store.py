"""The SQLite store on its own: versions, savepoints, tombstones, and the lookup indexes."""

from __future__ import annotations

import pytest

from dynamics_emulator import odata
from dynamics_emulator.app import seed_store
from dynamics_emulator.schema import TABLES_BY_NAME
from dynamics_emulator.store import DuplicateKey, Store


@pytest.fixture
def store(tmp_path) -> Store:
    store = Store(str(tmp_path / "org.db"))
    seed_store(store, "demo", 42)
    return store


def test_every_write_takes_a_new_version(store):
    before = store.current_version()
    with store.write():
        first = store.insert_row("account", "a1", {"accountid": "a1", "name": "One"})
        second = store.update_row("account", "a1", {"accountid": "a1", "name": "Two"})
    assert before < first < second == store.current_version()
    assert store.get_row("account", "a1").body["versionnumber"] == second


def test_nested_writes_are_savepoints(store):
    with store.write():
        store.insert_row("account", "kept", {"accountid": "kept"})
        with pytest.raises(DuplicateKey), store.write():
            store.insert_row("account", "lost", {"accountid": "lost"})
            store.insert_row("account", "kept", {"accountid": "kept"})
    assert store.get_row("account", "kept") is not None
    assert store.get_row("account", "lost") is None


def test_deletes_leave_tombstones_until_the_id_is_used_again(store):
    with store.write():
        store.insert_row("account", "x", {"accountid": "x"})
        store.delete_row("account", "x")
    since = 0
    assert [row_id for row_id, _ in store.deleted_rows("account", since, 10**9, 0, 10)] == ["x"]
    with store.write():
        store.insert_row("account", "x", {"accountid": "x"})
    assert store.deleted_rows("account", since, 10**9, 0, 10) == []


@pytest.mark.parametrize("table, expression, index", [
    ("opportunity", "_ownerid_value eq 6f1d8c3e-4b7a-4f0e-9a51-3c2d7e8f9a10",
     "rows_by_ownerid_value"),
    ("contact", "emailaddress1 eq 'someone@example.com'", "rows_by_emailaddress1"),
    ("contact", "_parentcustomerid_value eq 6f1d8c3e-4b7a-4f0e-9a51-3c2d7e8f9a10",
     "rows_by_parentcustomerid_value"),
])
def test_lookup_filters_use_their_index(store, table, expression, index):
    """The index expressions must stay identical to what the filter compiler emits."""
    where, params = odata.filter_to_sql(odata.parse_filter(expression), TABLES_BY_NAME[table])
    plan = store.db.execute(
        f"EXPLAIN QUERY PLAN SELECT id FROM rows WHERE entity = ? AND ({where}) ORDER BY id",
        [table, *params]).fetchall()
    assert index in str(plan)
