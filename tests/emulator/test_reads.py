"""Collection and row reads over real HTTP: paging, filters, ordering, expand, annotations."""

from __future__ import annotations

import urllib.parse
import uuid
import xml.etree.ElementTree as ET

import pytest

from .conftest import error_of

pytestmark = pytest.mark.emulator


def test_paging_returns_every_row_once_with_next_links(api, emulator):
    total = emulator.counts()["contacts"]
    rows, sizes, last = api.all_pages("contacts?$select=fullname",
                                      prefer="odata.maxpagesize=700")
    ids = [row["contactid"] for row in rows]
    assert len(ids) == len(set(ids)) == total
    assert sizes[:-1] == [700] * (len(sizes) - 1) and 0 < sizes[-1] <= 700
    assert "@odata.nextLink" not in last
    assert ids == sorted(ids)  # default order: the primary key


def test_next_link_keeps_the_query_and_carries_a_paging_cookie(api):
    response = api.get("accounts?$select=name&$filter=statecode eq 0",
                       prefer="odata.maxpagesize=10")
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=10"
    link = response.json()["@odata.nextLink"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    assert query["$select"] == ["name"] and query["$filter"] == ["statecode eq 0"]
    cookie = ET.fromstring(query["$skiptoken"][0])
    assert cookie.tag == "cookie" and cookie.attrib["pagenumber"] == "2"
    inner = ET.fromstring(urllib.parse.unquote(cookie.attrib["pagingcookie"]))
    assert inner.find("accountid").attrib["last"].startswith("{")


def test_rows_carry_etags_and_primary_keys(api):
    row = api.get("accounts?$select=name&$top=1").json()["value"][0]
    assert list(row) == ["@odata.etag", "name", "accountid"]
    assert row["@odata.etag"].startswith('W/"')


def test_default_page_is_5000_and_larger_page_sizes_are_ignored(api, emulator):
    response = api.get("contacts?$select=fullname", prefer="odata.maxpagesize=9000")
    body = response.json()
    assert len(body["value"]) == min(5000, emulator.counts()["contacts"])
    assert "Preference-Applied" not in response.headers


def test_top_limits_without_next_link_and_is_ignored_with_maxpagesize(api):
    body = api.get("accounts?$select=name&$top=7").json()
    assert len(body["value"]) == 7 and "@odata.nextLink" not in body
    body = api.get("accounts?$select=name&$top=7", prefer="odata.maxpagesize=20").json()
    assert len(body["value"]) == 20 and "@odata.nextLink" in body


def test_skip_is_rejected(api):
    response = api.get("accounts?$select=name&$skip=10")
    assert response.status_code == 400
    assert "$skip" in error_of(response)["message"]


def test_count_is_capped_at_5000(api, emulator):
    body = api.get("accounts?$select=name&$count=true&$top=1").json()
    assert body["@odata.count"] == min(emulator.counts()["accounts"], 5000)
    body = api.get("contacts?$select=fullname&$count=true&$top=1",
                   prefer='odata.include-annotations="Microsoft.Dynamics.CRM.*"').json()
    assert body["@odata.count"] == min(emulator.counts()["contacts"], 5000)
    assert body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is False
    response = api.get("accounts/$count")
    assert response.headers["Content-Type"].startswith("text/plain")
    assert int(response.text) == min(emulator.counts()["accounts"], 5000)


@pytest.mark.parametrize("expression, check", [
    ("statecode eq 0", lambda r: r["statecode"] == 0),
    ("statecode ne 0", lambda r: r["statecode"] != 0),
    ("salesstage ge 2 and statecode eq 0", lambda r: r["salesstage"] >= 2 and r["statecode"] == 0),
    ("(salesstage eq 0 or salesstage eq 3) and not (statecode eq 1)",
     lambda r: r["salesstage"] in (0, 3) and r["statecode"] != 1),
    ("estimatedvalue gt 100000.5", lambda r: r["estimatedvalue"] > 100000.5),
    ("estimatedvalue lt 10000", lambda r: r["estimatedvalue"] < 10000),
    ("actualvalue eq null", lambda r: r["actualvalue"] is None),
    ("actualvalue ne null", lambda r: r["actualvalue"] is not None),
    ("contains(name,'cloud')", lambda r: "cloud" in r["name"].lower()),
    ("startswith(name,'North')", lambda r: r["name"].lower().startswith("north")),
    ("endswith(name,'Pilot')", lambda r: r["name"].lower().endswith("pilot")),
    ("createdon gt 2024-06-01T00:00:00Z", lambda r: r["createdon"] > "2024-06-01T00:00:00Z"),
    ("createdon le 2024-01-01", lambda r: r["createdon"] <= "2024-01-01T00:00:00Z"),
    ("estimatedclosedate lt 2024-03-01", lambda r: r["estimatedclosedate"] < "2024-03-01"),
])
def test_filters_match_what_python_says(api, expression, check):
    select = "name,statecode,salesstage,estimatedvalue,actualvalue,createdon,estimatedclosedate"
    everything, _, _ = api.all_pages(f"opportunities?$select={select}")
    expected = {r["opportunityid"] for r in everything if check(r)}
    rows, _, _ = api.all_pages(f"opportunities?$select={select}&$filter={expression}")
    assert {r["opportunityid"] for r in rows} == expected
    assert expected  # the filter is not vacuous on the small org


def test_lookup_guid_and_boolean_filters(api, emulator):
    alex = emulator.user("alex.morgan@contoso-demo.com")["systemuserid"]
    rows, _, _ = api.all_pages(f"opportunities?$select=_ownerid_value&$filter=_ownerid_value eq "
                               f"{alex}")
    assert rows and all(row["_ownerid_value"] == alex for row in rows)
    users = api.get("systemusers?$select=fullname&$filter=isdisabled eq true").json()["value"]
    assert [u["fullname"] for u in users] == ["Chris Former"]


def test_long_or_chains_work(api):
    chain = " or ".join(f"salesstage eq {n % 4}" for n in range(150))
    assert api.get(f"opportunities?$select=name&$filter={chain}&$top=5").status_code == 200


def test_plus_in_a_query_string_is_a_space(api):
    """requests encodes `params` spaces as '+', as ASP.NET (and Dataverse) decode them."""
    response = api.session.get(api.url("accounts"), headers=api.headers(),
                               params={"$select": "name", "$filter": "statecode eq 0",
                                       "$top": "3"})
    assert "statecode+eq+0" in response.url
    assert response.status_code == 200 and len(response.json()["value"]) == 3
    offset = api.get("accounts?$select=name&$filter=createdon gt 2024-01-01T00:00:00%2B02:00")
    assert offset.status_code == 200


def test_string_comparison_ignores_case_like_dataverse(api):
    first = api.get("accounts?$select=name&$top=1").json()["value"][0]
    quoted = first["name"].upper().replace("'", "''")
    rows = api.get(f"accounts?$select=name&$filter=name eq '{quoted}'").json()["value"]
    assert [r["accountid"] for r in rows] == [first["accountid"]]


@pytest.mark.parametrize("expression, fragment", [
    ("nosuchcolumn eq 1", "Could not find a property named 'nosuchcolumn'"),
    ("statecode eq 'open'", "incompatible types"),
    ("statecode eq", "Expression expected"),
    ("name eq 'unterminated", "Syntax error"),
    ("frobnicate(name,'x')", "unknown function"),
    ("(statecode eq 0", "expected"),
    ("(" * 70 + "statecode eq 0" + ")" * 70, "nested more than"),
    (" or ".join(["statecode eq 0"] * 201), "more than 200 conditions"),
    ("numberofemployees gt 99999999999999999999999", "out of range"),
])
def test_bad_filters_are_400_with_a_dataverse_error(api, expression, fragment):
    response = api.get(f"opportunities?$select=name&$filter={expression}")
    assert response.status_code == 400
    error = error_of(response)
    # An unknown property carries the client-errors page's "0x0"; other query errors 0x80060888.
    assert error["code"] == ("0x0" if "Could not find" in fragment else "0x80060888")
    assert fragment.lower() in error["message"].lower()


def test_unknown_select_column_and_entity_set(api):
    response = api.get("accounts?$select=name,bogus")
    assert response.status_code == 400
    assert "bogus" in error_of(response)["message"]
    response = api.get("widgets?$select=name")
    assert response.status_code == 404
    assert error_of(response)["message"] == "Resource not found for the segment 'widgets'."


def test_orderby_pages_in_order_across_pages(api):
    rows, sizes, _ = api.all_pages(
        "opportunities?$select=estimatedvalue,name&$orderby=estimatedvalue desc,name asc",
        prefer="odata.maxpagesize=97")
    assert len(sizes) > 3
    keys = [(-r["estimatedvalue"], r["name"].lower()) for r in rows]
    assert keys == sorted(keys)
    assert len({r["opportunityid"] for r in rows}) == len(rows)


def test_orderby_puts_nulls_first_ascending(api):
    rows, _, _ = api.all_pages("opportunities?$select=actualvalue&$orderby=actualvalue asc",
                               prefer="odata.maxpagesize=300")
    values = [r["actualvalue"] for r in rows]
    nulls = values.count(None)
    assert nulls and values[:nulls] == [None] * nulls
    assert values[nulls:] == sorted(values[nulls:])


def test_expand_single_valued_navigation_properties(api):
    body = api.get("contacts?$select=fullname,_parentcustomerid_value"
                   "&$expand=parentcustomerid_account($select=name),ownerid($select=fullname)"
                   "&$top=50").json()
    assert "parentcustomerid_account(name)" in body["@odata.context"]
    for row in body["value"]:
        if row["_parentcustomerid_value"]:
            assert row["parentcustomerid_account"]["accountid"] == row["_parentcustomerid_value"]
            assert set(row["parentcustomerid_account"]) == {"@odata.etag", "name", "accountid"}
        else:
            assert row["parentcustomerid_account"] is None
        assert row["ownerid"]["fullname"]
    body = api.get("opportunities?$select=name&$expand=parentaccountid($select=name),"
                   "parentcontactid($select=fullname)&$top=20").json()
    assert all(row["parentaccountid"]["name"] for row in body["value"])


def test_formatted_values_and_lookup_annotations(api):
    prefer = 'odata.include-annotations="*"'
    body = api.get("opportunities?$select=statecode,statuscode,salesstage,estimatedvalue,"
                   "_ownerid_value,_customerid_value,createdon&$top=5", prefer=prefer).json()
    row = body["value"][0]
    formatted = "@OData.Community.Display.V1.FormattedValue"
    assert row[f"statecode{formatted}"] in ("Open", "Won", "Lost")
    assert row[f"salesstage{formatted}"] in ("Qualify", "Develop", "Propose", "Close")
    assert row[f"estimatedvalue{formatted}"].startswith("$")
    assert row[f"_ownerid_value{formatted}"]
    assert row["_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "systemuser"
    assert row["_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] in ("account",
                                                                                  "contact")
    assert row["_customerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] in (
        "customerid_account", "customerid_contact")
    keys = list(row)
    assert keys.index(f"statecode{formatted}") == keys.index("statecode") - 1
    only_formatted = api.get("accounts?$select=statecode,_ownerid_value&$top=1",
                             prefer='odata.include-annotations="OData.Community.Display.V1.'
                                    'FormattedValue"').json()["value"][0]
    assert "_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname" not in only_formatted
    assert only_formatted[f"statecode{formatted}"] == "Active"


def test_single_row_and_missing_row(api):
    first = api.get("accounts?$select=name&$top=1").json()["value"][0]
    response = api.get(f"accounts({first['accountid']})?$select=name,accountnumber")
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith("#accounts(name,accountnumber)/$entity")
    assert body["name"] == first["name"] and "value" not in body
    missing = uuid.uuid4()
    response = api.get(f"accounts({missing})")
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "0x80040217"
    assert str(missing) in error["message"]
    conditional = api.get(f"accounts({first['accountid']})?$select=name",
                          headers={"If-None-Match": first["@odata.etag"]})
    assert conditional.status_code == 304


def test_whoami_service_document_and_csdl(api, emulator):
    who = api.get("WhoAmI").json()
    assert who["UserId"] == emulator.user("portal-integration-app@contoso-demo.com")[
        "systemuserid"]
    assert set(who) == {"@odata.context", "BusinessUnitId", "UserId", "OrganizationId"}
    sets = {item["name"] for item in api.get("").json()["value"]}
    assert {"accounts", "contacts", "leads", "opportunities", "systemusers", "tasks",
            "annotations", "li_inmails", "li_messages"} <= sets
    csdl = api.get("$metadata")
    root = ET.fromstring(csdl.content)
    assert root.tag.endswith("Edmx")
    assert b"Org.OData.Capabilities.V1.ChangeTracking" in csdl.content
    assert b'NavigationProperty Name="regardingobjectid_contact_li_inmail"' in csdl.content


def test_rows_built_in_sqlite_equal_rows_built_in_python(api):
    """Plain pages are built by SQLite; $expand and annotations go through Python."""
    select = "name,revenue,numberofemployees,_ownerid_value,statecode,websiteurl,createdon"
    plain = api.get(f"accounts?$select={select}&$top=200").json()["value"]
    expanded = api.get(f"accounts?$select={select}&$top=200&$expand=ownerid($select=fullname)")
    python_rows = expanded.json()["value"]
    for row in python_rows:
        del row["ownerid"]
    assert plain == python_rows
    everything = api.get("opportunities?$top=50").json()["value"]
    everything_python = api.get("opportunities?$top=50&$expand=ownerid").json()["value"]
    assert everything == [{k: v for k, v in row.items() if k != "ownerid"}
                          for row in everything_python]
