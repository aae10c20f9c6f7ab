"""Replayed: Microsoft's change-tracking example (use-change-tracking-synchronize-data-external-
systems): the initial read's delta link, then changed rows and a `$deletedEntity`."""

from urllib.parse import unquote

from tests.dynamics.replay_server import Canned

SELECT = ["name", "accountnumber", "telephone1", "fax"]


def test_the_initial_read_hands_over_the_delta_link(replay, replay_client):
    replay.replay(Canned.load("delta_initial_200.http"))
    pages = list(replay_client.iter_changes("accounts", select=SELECT))
    assert len(pages) == 1
    assert [row["name"] for row in pages[0].rows] == ["Monte Orton"]
    assert pages[0].deleted_ids == []
    assert pages[0].delta_link == (
        f"{replay.origin}/api/data/v9.0/accounts?$select=name,accountnumber,telephone1,fax"
        "&$deltatoken=919042%2108%2f22%2f2017%2008%3a10%3a44"
    )
    assert "odata.track-changes" in replay.received[0].headers["Prefer"]


def test_the_delta_link_gives_changes_and_deleted_ids_and_the_next_link(replay, replay_client):
    replay.replay(Canned.load("delta_initial_200.http"), Canned.load("delta_changes_200.http"))
    link = list(replay_client.iter_changes("accounts", select=SELECT))[-1].delta_link
    pages = list(replay_client.iter_changes("accounts", select=SELECT, delta_link=link))
    page = pages[-1]
    assert [row["accountid"] for row in page.rows] == ["60c4e274-0d87-e711-80e5-00155db19e6d"]
    assert page.deleted_ids == ["2e451703-c686-e711-80e5-00155db19e6d"]
    assert page.delta_link.endswith("$deltatoken=919058%2108%2f22%2f2017%2008%3a21%3a20")
    delta_request = replay.received[1]
    # The delta link is sent as Microsoft's example sends it, with no track-changes preference,
    # and unchanged but for the case of its percent-escapes, which requests upper-cases
    # (%2f -> %2F: the same URL, RFC 3986 section 2.1).
    assert unquote(delta_request.path) == unquote(link.removeprefix(replay.origin))
    assert "odata.track-changes" not in delta_request.headers.get("Prefer", "")
