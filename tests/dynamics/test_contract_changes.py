"""Contract: change tracking (initial read, deltas with deletes, expired tokens, untracked)."""

import uuid

import pytest

from dynamics import ChangeTrackingError, ChangeTrackingUnsupported, DeltaTokenExpired
from tests.dynamics.contract_support import app_client

pytestmark = pytest.mark.emulator


@pytest.fixture
def crm(emulator_clean):
    return app_client(emulator_clean)


def _read(crm, **options):
    pages = list(crm.iter_changes("accounts", select=["name", "websiteurl"], **options))
    rows = [row for page in pages for row in page.rows]
    deleted = [row_id for page in pages for row_id in page.deleted_ids]
    return pages, rows, deleted


def test_initial_read_then_deltas_with_changes_creates_and_deletes(crm, emulator_clean):
    pages, rows, deleted = _read(crm, page_size=200)
    assert len(rows) == len({row["accountid"] for row in rows}) == crm.count("accounts")
    assert deleted == []
    assert all(page.delta_link is None for page in pages[:-1])
    delta_link = pages[-1].delta_link
    assert "$deltatoken=" in delta_link

    changed, gone = rows[0]["accountid"], rows[1]["accountid"]
    new_id = str(uuid.uuid4())
    emulator_clean.patch_row("accounts", changed, name="Renamed Ltd")
    emulator_clean.delete_row("accounts", gone)
    emulator_clean.create_row("accounts", accountid=new_id, name="Brand New Ltd")

    pages, rows, deleted = _read(crm, delta_link=delta_link)
    by_id = {row["accountid"]: row for row in rows}
    assert set(by_id) == {changed, new_id}
    assert by_id[changed]["name"] == "Renamed Ltd"
    assert "websiteurl" in by_id[changed]  # full selected columns, not just the changed ones
    assert deleted == [gone]
    assert all("reason" not in row for row in rows)  # tombstones never mixed into rows
    next_delta = pages[-1].delta_link
    assert next_delta and next_delta != delta_link

    pages, rows, deleted = _read(crm, delta_link=next_delta)
    assert rows == [] and deleted == []
    assert pages[-1].delta_link


def test_a_large_delta_is_paged(crm, emulator_clean):
    pages, _, _ = _read(crm)
    delta_link = pages[-1].delta_link
    created = [str(uuid.uuid4()) for _ in range(25)]
    for number, row_id in enumerate(created):
        emulator_clean.create_row("accounts", accountid=row_id, name=f"Paged {number}")
    pages, rows, _ = _read(crm, delta_link=delta_link, page_size=10)
    assert len(pages) == 3
    assert {row["accountid"] for row in rows} == set(created)
    assert pages[-1].delta_link


def test_an_expired_delta_token(crm, emulator_clean):
    pages, _, _ = _read(crm)
    emulator_clean.set_faults(expire_delta_tokens=True)
    with pytest.raises(DeltaTokenExpired) as caught:
        _read(crm, delta_link=pages[-1].delta_link)
    assert isinstance(caught.value, ChangeTrackingError)
    assert caught.value.retryable is False
    assert caught.value.table == "accounts"


def test_an_untracked_table(crm, emulator):
    try:
        emulator.set_change_tracking("account", False)
        assert crm.change_tracking_enabled("account") is False
        with pytest.raises(ChangeTrackingUnsupported) as caught:
            _read(crm)
        assert isinstance(caught.value, ChangeTrackingError)
    finally:
        emulator.set_change_tracking("account", True)
    assert crm.change_tracking_enabled("account") is True
