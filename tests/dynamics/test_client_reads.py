"""Reads, paging and change tracking against mocked HTTP, including every malformed answer."""

import json

import pytest
import responses

from dynamics import (
    ChangeTrackingUnsupported,
    DeltaTokenExpired,
    MalformedResponse,
    MissingObjectError,
    NotFound,
    RetryPolicy,
)
from tests.dynamics.client_fakes import API

ROW = "0f8fad5b-d9cb-469f-a165-70867728950e"
OTHER = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def _collection(rows, **extra):
    return {"@odata.context": f"{API}$metadata#accounts(name)", "value": rows, **extra}


def _one_attempt(client):
    client._transport.retry = RetryPolicy(max_attempts=1)
    return client


def test_it_follows_next_links_with_the_same_preferences(client, mocked):
    next_link = f"{API}accounts?$select=name&$skiptoken=%3Ccookie%20pagenumber=%222%22%20/%3E"
    mocked.add(
        "GET",
        f"{API}accounts",
        json=_collection([{"accountid": ROW, "name": "A"}], **{"@odata.nextLink": next_link}),
        match=[responses.matchers.query_string_matcher("$select=name,accountid")],
    )
    mocked.add(
        "GET",
        f"{API}accounts",
        json=_collection([{"accountid": OTHER, "name": "B"}]),
        match=[
            responses.matchers.query_string_matcher(
                "$select=name&$skiptoken=%3Ccookie%20pagenumber=%222%22%20/%3E"
            )
        ],
    )
    pages = list(client.iter_pages("accounts", select=["name", "accountid"], page_size=1))
    assert [row["name"] for page in pages for row in page.rows] == ["A", "B"]
    assert pages[0].next_link == next_link
    assert pages[1].next_link is None
    assert pages[1].url == next_link
    for call in mocked.calls:
        assert call.request.headers["Prefer"] == "odata.maxpagesize=1"
        assert call.request.headers["Authorization"] == "Bearer token-0"
        assert call.request.headers["OData-Version"] == "4.0"
        assert call.request.headers["If-None-Match"] == "null"
    # The next link is sent exactly as the server wrote it.
    assert mocked.calls[1].request.url == next_link


def test_it_builds_the_query_string_dataverse_documents(client, mocked):
    mocked.add("GET", f"{API}opportunities", json=_collection([], **{"@odata.count": 0}))
    page = next(
        client.iter_pages(
            "opportunities",
            select="name,statecode",
            filter="statecode eq 0 and contains(name,'a&b')",
            expand="parentaccountid($select=name)",
            orderby="name desc",
            count=True,
            formatted=True,
        )
    )
    assert page.count == 0
    request = mocked.calls[0].request
    assert request.url == (
        f"{API}opportunities?$select=name,statecode"
        "&$filter=statecode%20eq%200%20and%20contains(name,'a%26b')"
        "&$expand=parentaccountid($select=name)&$orderby=name%20desc&$count=true"
    )
    assert "odata.maxpagesize=5000" in request.headers["Prefer"]
    assert "OData.Community.Display.V1.FormattedValue" in request.headers["Prefer"]


def test_top_leaves_out_the_page_size_preference(client, mocked):
    mocked.add("GET", f"{API}accounts", json=_collection([]))
    list(client.iter_pages("accounts", select="name", top=10))
    request = mocked.calls[0].request
    assert request.url.endswith("$select=name&$top=10")
    assert "Prefer" not in request.headers


def test_it_resumes_from_a_saved_next_link(client, mocked):
    saved = f"{API}accounts?$select=name&$skiptoken=abc"
    mocked.add("GET", f"{API}accounts", json=_collection([{"name": "C"}]))
    rows = list(client.iter_rows("accounts", select="name", start_url=saved))
    assert rows == [{"name": "C"}]
    assert mocked.calls[0].request.url == saved


def test_it_refuses_to_send_its_token_to_a_foreign_start_url(client):
    with pytest.raises(ValueError, match="not a link of this environment"):
        next(client.iter_pages("accounts", select="name", start_url="https://evil.test/api/data/"))


def test_get_row_returns_the_object_and_raises_not_found(client, mocked):
    mocked.add("GET", f"{API}accounts({ROW})", json={"accountid": ROW, "name": "A"})
    assert client.get_row("accounts", ROW, select=["name"])["name"] == "A"
    mocked.replace(
        "GET",
        f"{API}accounts({ROW})",
        status=404,
        json={
            "error": {"code": "0x80040217", "message": f"account With Id = {ROW} Does Not Exist"}
        },
    )
    with pytest.raises(NotFound) as caught:
        client.get_row("accounts", ROW)
    assert caught.value.table == "accounts"
    assert len(mocked.calls) == 2  # a 404 is not retried


def test_a_missing_table_raises_missing_object_error(client, mocked):
    mocked.add(
        "GET",
        f"{API}li_inmails",
        status=404,
        json={"error": {"code": "0x80060888", "message": "Resource not found for the segment"}},
    )
    with pytest.raises(MissingObjectError) as caught:
        list(client.iter_rows("li_inmails", select="subject"))
    assert caught.value.kind == "missing"
    assert caught.value.table == "li_inmails"


def test_count_reads_odata_count(client, mocked):
    mocked.add("GET", f"{API}accounts", json=_collection([{"name": "A"}], **{"@odata.count": 42}))
    assert client.count("accounts", filter="statecode eq 0") == 42
    request = mocked.calls[0].request
    assert request.url.endswith("?$filter=statecode%20eq%200&$count=true")
    assert request.headers["Prefer"] == (
        'odata.maxpagesize=1,odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcount,'
        'Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"'
    )


@pytest.mark.parametrize(
    "annotations, count, capped",
    [
        ({"@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded": True}, 5000, True),
        ({"@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded": False}, 5000, False),
        ({}, 5000, True),  # no annotation: a count at the limit may be capped
        ({}, 4999, False),
    ],
)
def test_count_says_whether_dataverse_capped_it(client, mocked, annotations, count, capped):
    """Count rows using OData: the count stops at 5,000, the annotation says whether it did."""
    body = _collection([], **{"@odata.count": count}, **annotations)
    mocked.add("GET", f"{API}accounts", json=body)
    result = client.count("accounts")
    assert result == count and result.capped is capped
    assert f"capped={capped}" in repr(result)


def test_a_malformed_limit_annotation_is_refused(client, mocked):
    mocked.add(
        "GET",
        f"{API}accounts",
        json=_collection(
            [], **{"@odata.count": 5000, "@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded": 1}
        ),
    )
    with pytest.raises(MalformedResponse, match="totalrecordcountlimitexceeded"):
        client.count("accounts")


# -- change tracking -----------------------------------------------------------------------


def test_initial_change_read_asks_for_tracking_and_ends_with_a_delta_link(client, mocked):
    delta = f"{API}accounts?$select=name&$deltatoken=919042%2108%2f22%2f2017"
    mocked.add(
        "GET",
        f"{API}accounts",
        json=_collection([{"accountid": ROW, "name": "A"}], **{"@odata.deltaLink": delta}),
    )
    pages = list(client.iter_changes("accounts", select="name"))
    assert pages[-1].delta_link == delta
    prefer = mocked.calls[0].request.headers["Prefer"]
    assert prefer == "odata.maxpagesize=5000,odata.track-changes"


def test_delta_read_separates_deleted_rows(client, mocked):
    delta = f"{API}accounts?$select=name&$deltatoken=1"
    new_delta = f"{API}accounts?$select=name&$deltatoken=2"
    mocked.add(
        "GET",
        f"{API}accounts",
        json={
            "@odata.context": f"{API}$metadata#accounts(name)/$delta",
            "@odata.deltaLink": new_delta,
            "value": [
                {"@odata.etag": 'W/"1"', "accountid": ROW, "name": "Changed"},
                {
                    "@odata.context": f"{API}$metadata#accounts/$deletedEntity",
                    "id": OTHER.upper(),
                    "reason": "deleted",
                },
            ],
        },
    )
    (page,) = client.iter_changes("accounts", select="name", delta_link=delta)
    assert page.rows == [{"@odata.etag": 'W/"1"', "accountid": ROW, "name": "Changed"}]
    assert page.deleted_ids == [OTHER]
    assert page.delta_link == new_delta
    assert mocked.calls[0].request.url == delta
    assert mocked.calls[0].request.headers["Prefer"] == "odata.maxpagesize=5000"


def test_an_expired_delta_token_raises_delta_token_expired(client, mocked):
    mocked.add(
        "GET",
        f"{API}accounts",
        status=400,
        json={"error": {"code": "0x80044352", "message": "Version stamp expired; full sync."}},
    )
    with pytest.raises(DeltaTokenExpired):
        list(
            client.iter_changes(
                "accounts", select="name", delta_link=f"{API}accounts?$deltatoken=1"
            )
        )


def test_an_untracked_table_raises_change_tracking_unsupported(client, mocked):
    mocked.add(
        "GET",
        f"{API}tasks",
        status=400,
        json={
            "error": {
                "code": "0x80072491",
                "message": "Entity task isn't enabled for change tracking.",
            }
        },
    )
    with pytest.raises(ChangeTrackingUnsupported):
        list(client.iter_changes("tasks", select="subject"))


def test_a_change_read_without_delta_link_is_malformed(client, mocked):
    mocked.add("GET", f"{API}accounts", json=_collection([]))
    with pytest.raises(MalformedResponse, match="without an @odata.deltaLink"):
        list(client.iter_changes("accounts", select="name"))


# -- malformed answers ---------------------------------------------------------------------

MALFORMED = {
    "html error page with 200": (
        b"<html><head><title>Error</title></head><body>Service Unavailable</body></html>",
        "text/html",
        "text/html where JSON was expected",
    ),
    "truncated json": (
        b'{"@odata.context": "x", "value": [{"name": "A"}, {"name": "B',
        "application/json",
        "invalid or truncated JSON",
    ),
    "empty body": (b"", "application/json", "empty collection"),
    "json without value": (b'{"@odata.context": "x"}', "application/json", "has no 'value'"),
    "value not a list": (b'{"value": {"name": "A"}}', "application/json", "not a list"),
    "row not an object": (b'{"value": ["A"]}', "application/json", "value[0] of type str"),
    "json array": (b"[1, 2]", "application/json", "JSON list where an object"),
    "next link a number": (
        b'{"value": [], "@odata.nextLink": 42}',
        "application/json",
        "@odata.nextLink of type int",
    ),
    "next link elsewhere": (
        b'{"value": [], "@odata.nextLink": "https://evil.test/api/data/v9.2/accounts"}',
        "application/json",
        "@odata.nextLink outside the Web API",
    ),
    "delta link a list": (
        b'{"value": [], "@odata.deltaLink": ["x"]}',
        "application/json",
        "@odata.deltaLink of type list",
    ),
    "count a string": (
        b'{"value": [], "@odata.count": "12"}',
        "application/json",
        "@odata.count of type str",
    ),
    "deleted entity without id": (
        b'{"value": [{"@odata.context": "x/$metadata#accounts/$deletedEntity"}]}',
        "application/json",
        "without an 'id'",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_collection_raises_malformed_response_naming_the_url(client, mocked, case):
    body, content_type, expected = MALFORMED[case]
    mocked.add("GET", f"{API}accounts", body=body, content_type=content_type)
    _one_attempt(client)
    with pytest.raises(MalformedResponse) as caught:
        list(client.iter_pages("accounts", select="name"))
    error = caught.value
    assert expected in error.message
    assert error.url == f"{API}accounts?$select=name"
    assert f"{API}accounts?$select=name" in str(error)
    assert error.kind == "api"
    assert error.table == "accounts"


def test_a_next_link_to_the_same_page_is_malformed(client, mocked):
    url = f"{API}accounts?$select=name"
    mocked.add("GET", f"{API}accounts", json={"value": [], "@odata.nextLink": url})
    with pytest.raises(MalformedResponse, match="same page"):
        list(client.iter_pages("accounts", select="name"))


def test_a_malformed_page_is_read_again(client, mocked, fake_time):
    mocked.add("GET", f"{API}accounts", body=b"<html>oops</html>", content_type="text/html")
    mocked.add("GET", f"{API}accounts", json=_collection([{"name": "A"}]))
    assert list(client.iter_rows("accounts", select="name")) == [{"name": "A"}]
    assert client.stats.retries == 1
    assert len(fake_time.sleeps) == 1


def test_a_malformed_single_row_and_whoami_name_the_url(client, mocked):
    _one_attempt(client)
    mocked.add("GET", f"{API}accounts({ROW})", body=b'{"name": ', content_type="application/json")
    with pytest.raises(MalformedResponse) as caught:
        client.get_row("accounts", ROW)
    assert caught.value.url == f"{API}accounts({ROW})"
    mocked.add("GET", f"{API}WhoAmI", json={"BusinessUnitId": ROW})
    with pytest.raises(MalformedResponse, match="without a UserId") as caught:
        client.whoami()
    assert caught.value.url == f"{API}WhoAmI"


def test_stats_count_requests_and_bytes(client, mocked):
    body = json.dumps(_collection([{"name": "A"}]))
    mocked.add("GET", f"{API}accounts", body=body, content_type="application/json")
    list(client.iter_rows("accounts", select="name"))
    assert client.stats.requests == 1
    assert client.stats.bytes_received == len(body)
    assert client.stats.bytes_sent == 0
    client.stats.reset()
    assert client.stats.requests == 0
