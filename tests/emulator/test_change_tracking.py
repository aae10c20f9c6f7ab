"""Change tracking: the initial read with odata.track-changes, deltas, deletions, expiry."""

from __future__ import annotations

import urllib.parse

import pytest

from .conftest import Api, error_of

pytestmark = pytest.mark.emulator

TRACK = "odata.track-changes"


@pytest.fixture(scope="module")
def org(emulator_factory):
    """A demo org of its own: these tests need to know every change made to it."""
    return emulator_factory(size="demo")


@pytest.fixture
def api(org) -> Api:
    return Api(org, org.token("integration@contoso-demo.com"))


def _sync(api: Api, url: str, prefer: str = TRACK) -> tuple[list, list, str]:
    """Follow nextLinks of a tracked read; returns (rows, deleted ids, deltaLink)."""
    rows, deleted = [], []
    while True:
        response = api.get(url, prefer=prefer)
        assert response.status_code == 200, response.text
        body = response.json()
        for item in body["value"]:
            if item.get("reason") == "deleted":
                deleted.append(item["id"])
            else:
                rows.append(item)
        if "@odata.nextLink" in body:
            url = body["@odata.nextLink"]
            continue
        return rows, deleted, body["@odata.deltaLink"]


def test_initial_read_returns_everything_and_a_delta_link(api, org):
    response = api.get("accounts?$select=name,accountnumber", prefer=TRACK)
    assert response.headers["Preference-Applied"] == "odata.track-changes"
    body = response.json()
    assert len(body["value"]) == org.counts()["accounts"]
    link = body["@odata.deltaLink"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    assert query["$select"] == ["name,accountnumber"]
    version, _, stamp = query["$deltatoken"][0].partition("!")
    assert version.isdigit() and len(stamp) == len("08/22/2017 08:10:44")


def test_initial_read_pages_and_ends_with_the_delta_link(api, org):
    rows, deleted, link = _sync(api, "contacts?$select=fullname",
                                prefer=f"{TRACK},odata.maxpagesize=150")
    assert len(rows) == len({r["contactid"] for r in rows}) == org.counts()["contacts"]
    assert not deleted and "$deltatoken=" in link


def test_delta_returns_changes_and_deletions_then_nothing(api, org):
    _, _, link = _sync(api, "opportunities?$select=name,salesstage,statecode")
    opportunities = org.rows("opportunities", filter="statecode eq 0", top=3)
    moved, closed, doomed = (o["opportunityid"] for o in opportunities)
    org.patch_opportunity(moved, salesstage=3)
    org.patch_opportunity(closed, statecode=1)
    org.delete_row("opportunities", doomed)
    created = org.create_opportunity(name="Fresh deal", estimatedvalue=1000)

    response = api.get(link, prefer=TRACK)
    body = response.json()
    assert body["@odata.context"].endswith("/$delta")
    changed = {item["opportunityid"]: item for item in body["value"] if "opportunityid" in item}
    assert set(changed) == {moved, closed, created["opportunityid"]}
    assert changed[moved]["salesstage"] == 3 and changed[closed]["statecode"] == 1
    assert set(changed[moved]) == {"@odata.etag", "name", "salesstage", "statecode",
                                   "opportunityid"}
    deleted = [item for item in body["value"] if item.get("reason") == "deleted"]
    assert deleted == [{"@odata.context": deleted[0]["@odata.context"], "id": doomed,
                        "reason": "deleted"}]
    assert deleted[0]["@odata.context"].endswith("$metadata#opportunities/$deletedEntity")

    again = api.get(body["@odata.deltaLink"], prefer=TRACK).json()
    assert again["value"] == [] and "@odata.deltaLink" in again


def test_created_then_deleted_between_syncs_shows_as_deleted(api, org):
    _, _, link = _sync(api, "accounts?$select=name")
    account = org.create_row("accounts", name="Ephemeral Ltd")
    org.delete_row("accounts", account["accountid"])
    rows, deleted, _ = _sync(api, link)
    assert rows == [] and deleted == [account["accountid"]]


def test_large_deltas_page(api, org):
    _, _, link = _sync(api, "contacts?$select=firstname")
    contacts = org.rows("contacts", top=40)
    for contact in contacts:
        org.patch_row("contacts", contact["contactid"], jobtitle="Changed")
    for contact in contacts[:5]:
        org.delete_row("contacts", contact["contactid"])
    rows, deleted, _ = _sync(api, link, prefer=f"{TRACK},odata.maxpagesize=7")
    assert {r["contactid"] for r in rows} == {c["contactid"] for c in contacts[5:]}
    assert set(deleted) == {c["contactid"] for c in contacts[:5]}


@pytest.mark.parametrize("option", ["$filter=statecode eq 0", "$orderby=name", "$top=5",
                                    "$expand=ownerid($select=fullname)"])
def test_track_changes_refuses_query_options(api, option):
    response = api.get(f"accounts?$select=name&{option}", prefer=TRACK)
    assert response.status_code == 400
    name = option.split("=")[0]
    assert error_of(response)["message"] == (f'The "{name}" query parameter isn\'t supported '
                                             "when Change Tracking is enabled.")


def test_unknown_and_expired_tokens_ask_for_a_full_sync(api, org):
    response = api.get("accounts?$select=name&$deltatoken=12345%2101%2f01%2f2020%2000%3a00%3a00",
                       prefer=TRACK)
    assert response.status_code == 400
    assert error_of(response)["code"] == "0x80044352"
    _, _, link = _sync(api, "accounts?$select=name")
    assert api.get(link, prefer=TRACK).status_code == 200
    org.set_faults(expire_delta_tokens=True)
    response = api.get(link, prefer=TRACK)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "0x80044352" and "full sync" in error["message"]
    _, _, fresh = _sync(api, "accounts?$select=name")  # a new full read gets a working token
    assert api.get(fresh, prefer=TRACK).status_code == 200


def test_tables_without_change_tracking_refuse_it(api, org):
    response = api.get("tasks?$select=subject", prefer=TRACK)
    assert response.status_code == 400
    assert error_of(response) == {"code": "0x80072491",  # ChangeTrackingNotEnabledForEntity
                                  "message": "Entity task isn't enabled for change tracking."}
    org.set_change_tracking("lead", True)
    try:
        _, _, link = _sync(api, "leads?$select=fullname")
        org.set_change_tracking("lead", False)
        assert api.get(link, prefer=TRACK).status_code == 400
    finally:
        org.set_change_tracking("lead", False)
