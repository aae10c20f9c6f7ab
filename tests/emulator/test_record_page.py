"""The record form behind the portal's Dynamics links (``/main.aspx``)."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.emulator


def _open(emulator, **query):
    return emulator.session().get(
        f"{emulator.base_url}/main.aspx", params={"pagetype": "entityrecord", **query}, timeout=30
    )


def test_a_contact_shows_its_columns_with_names_for_lookups_and_labels_for_choices(emulator, api):
    # One with an email: other tests in the session may have cleared the first contact's.
    contact = api.get(
        "contacts?$top=1&$select=fullname,emailaddress1,_ownerid_value"
        "&$filter=emailaddress1 ne null"
    ).json()["value"][0]
    owner = api.get(f"systemusers({contact['_ownerid_value']})?$select=fullname").json()

    page = _open(emulator, etn="contact", id=contact["contactid"])

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    text = page.text
    assert f"<h1>{contact['fullname']}</h1>".replace("'", "&#x27;") in text
    assert contact["emailaddress1"] in text
    assert f"<td>{owner['fullname']}</td>" in text  # the owner by name, not by id
    assert "<td>Active</td>" in text  # statecode 0 by its label


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"etn": "nosuchtable", "id": str(uuid.uuid4())}, "This table does not exist"),
        ({"etn": "contact", "id": "not-a-guid"}, "not a GUID"),
        ({"etn": "contact", "id": str(uuid.uuid4())}, "may have been deleted"),
        ({}, "This table does not exist"),
    ],
)
def test_unknown_records_are_a_plain_404_page(emulator, query, says):
    page = _open(emulator, **query)
    assert page.status_code == 404
    assert says in page.text


def test_the_browser_listener_serves_record_pages_over_plain_http(emulator_factory):
    """The portal's links to a record open in a browser without the self-signed certificate's
    warning: the plain-http listener serves the record pages, and still no Web API."""
    org = emulator_factory(size="demo", browser_port=0)
    contact = org.rows("contacts", top=1)[0]
    page = org.session().get(
        f"{org.browser_url}/main.aspx",
        params={"pagetype": "entityrecord", "etn": "contact", "id": contact["contactid"]},
        timeout=30,
    )
    assert org.browser_url.startswith("http://")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert contact["emailaddress1"] in page.text
    assert org.session().get(f"{org.browser_url}/api/data/v9.2/contacts").status_code == 404
