"""Contract: reads, paging, metadata and read errors against the emulator over HTTPS."""

import math
import uuid

import pytest

from dynamics import (
    ConnectError,
    DynamicsClient,
    MissingObjectError,
    NotFound,
    Option,
    PrivilegeError,
    StaticTokenAuth,
    make_session,
)
from tests.dynamics.contract_support import FAST, READONLY, app_client, user_client

pytestmark = pytest.mark.emulator

FORMATTED = "@OData.Community.Display.V1.FormattedValue"


@pytest.fixture
def crm(emulator_clean):
    return app_client(emulator_clean)


def test_paging_reads_every_row_once_in_the_fewest_requests(crm, emulator_clean):
    expected = emulator_clean.counts()["contacts"]
    pages = list(crm.iter_pages("contacts", select=["fullname", "emailaddress1"], page_size=500))
    ids = [row["contactid"] for page in pages for row in page.rows]
    assert len(ids) == expected
    assert len(set(ids)) == expected
    assert crm.stats.requests == math.ceil(expected / 500)
    assert all(page.next_link for page in pages[:-1])
    assert pages[-1].next_link is None
    assert all(row["@odata.etag"].startswith('W/"') for row in pages[0].rows)


def test_a_read_resumes_from_a_saved_next_link(crm):
    first = next(crm.iter_pages("accounts", select="name", page_size=200))
    rest = [
        row["accountid"]
        for page in crm.iter_pages("accounts", select="name", start_url=first.next_link)
        for row in page.rows
    ]
    seen = [row["accountid"] for row in first.rows] + rest
    assert len(seen) == len(set(seen)) == crm.count("accounts")


def test_query_options_and_formatted_values(crm):
    rows = list(
        crm.iter_rows(
            "opportunities",
            select=["name", "statecode", "salesstage", "_ownerid_value", "_parentaccountid_value"],
            filter="statecode eq 0 and salesstage ge 2",
            expand="parentaccountid($select=name)",
            orderby="name asc",
            formatted=True,
            page_size=100,
        )
    )
    assert rows
    assert all(row["statecode"] == 0 and row["salesstage"] >= 2 for row in rows)
    assert [row["name"] for row in rows] == sorted(row["name"] for row in rows)
    assert rows[0][f"statecode{FORMATTED}"] == "Open"
    assert rows[0][f"salesstage{FORMATTED}"] in {"Propose", "Close"}
    assert rows[0][f"_ownerid_value{FORMATTED}"]
    assert rows[0]["parentaccountid"]["name"]


def test_top_and_count(crm):
    (page,) = crm.iter_pages("contacts", select="fullname", top=7, count=True)
    assert len(page.rows) == 7
    assert page.count == min(crm.count("contacts"), 5000)


def test_get_row_and_not_found(crm):
    account = next(crm.iter_rows("accounts", select="name", top=1))
    row = crm.get_row("accounts", account["accountid"], select=["name", "websiteurl"])
    assert row["name"] == account["name"]
    with pytest.raises(NotFound) as caught:
        crm.get_row("accounts", str(uuid.uuid4()))
    assert caught.value.code == "0x80040217"
    assert caught.value.table == "accounts"


def test_metadata(crm):
    definition = crm.entity_definition(
        "opportunity", select=["LogicalName", "EntitySetName", "PrimaryIdAttribute"]
    )
    assert definition["EntitySetName"] == "opportunities"
    assert definition["PrimaryIdAttribute"] == "opportunityid"
    assert crm.change_tracking_enabled("opportunity") is True
    assert crm.picklist_options("opportunity", "salesstage") == [
        Option(0, "Qualify"),
        Option(1, "Develop"),
        Option(2, "Propose"),
        Option(3, "Close"),
    ]
    money = {column.logical_name: column.label for column in crm.money_columns("opportunity")}
    assert money["new_wonamount"] == "Won Amount"
    assert "estimatedvalue" in money and "actualvalue" in money
    assert crm.whoami()["OrganizationId"]


def test_a_missing_table(crm, emulator_clean):
    with pytest.raises(MissingObjectError) as caught:
        crm.entity_definition("new_nosuchtable")
    assert caught.value.kind == "missing"
    with pytest.raises(MissingObjectError):
        list(crm.iter_rows("new_nosuchtables", select="new_name"))
    emulator_clean.set_faults(missing_tables=["lead"])
    assert crm.table_exists("lead") is False
    with pytest.raises(MissingObjectError) as caught:
        list(crm.iter_rows("leads", select="fullname"))
    assert caught.value.table == "leads"


def test_the_linkedin_solution_comes_and_goes(crm, emulator):
    assert crm.linkedin_solution_installed() is True
    try:
        emulator.set_linkedin_solution(False)
        assert crm.linkedin_solution_installed() is False
        with pytest.raises(MissingObjectError):
            list(crm.iter_rows("li_inmails", select="subject"))
    finally:
        emulator.set_linkedin_solution(True)
    assert crm.table_exists("li_message") is True


def test_a_missing_read_privilege_is_a_privilege_error(emulator_clean):
    readonly = user_client(emulator_clean, READONLY)
    assert list(readonly.iter_rows("accounts", select="name", top=1))
    with pytest.raises(PrivilegeError) as caught:
        list(readonly.iter_rows("opportunities", select="name"))
    error = caught.value
    assert error.kind == "privilege"
    assert error.status == 403
    assert error.code == "0x80040220"
    assert error.retryable is False
    assert readonly.stats.requests == 2  # never retried


def test_a_denied_table_from_the_fault_switch(emulator_clean):
    emulator_clean.set_faults(deny={READONLY: ["account"]})
    with pytest.raises(PrivilegeError):
        list(user_client(emulator_clean, READONLY).iter_rows("accounts", select="name"))


def test_an_unreachable_org_is_a_connect_error(emulator_clean):
    crm = app_client(emulator_clean)
    crm.whoami()  # token fetched while the org is reachable
    emulator_clean.set_faults(unreachable=True)
    with pytest.raises(ConnectError) as caught:
        crm.whoami()
    assert caught.value.kind == "connect"
    assert caught.value.retryable
    assert caught.value.attempts == FAST.max_attempts


def test_a_closed_port_is_a_connect_error(emulator):
    session = make_session(ca_bundle=emulator.ca_cert)
    crm = DynamicsClient(
        "https://127.0.0.1:9",
        StaticTokenAuth("t"),
        session=session,
        retry=FAST,
        extra_allowed_hosts=["127.0.0.1:9"],
    )
    with pytest.raises(ConnectError):
        crm.whoami()
