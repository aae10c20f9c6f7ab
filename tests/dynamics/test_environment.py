"""The environment rule itself (``dynamics.environment``): what it returns, the operator's exact
exceptions, and that whatever it accepts is where urllib3 connects."""

import pytest
import requests
import urllib3

from dynamics import AuthError, EnvironmentUrlRefused, environment_origin

TRICKY = [
    "\\",
    "@",
    "%",
    "%5C",
    "%2F",
    ":",
    ":0",
    ":443",
    ":8443",
    "[",
    "]",
    "[::1]",
    "/",
    "?",
    "#",
    ".",
    "..",
    "-",
    "_",
    " ",
    "\t",
    "\n",
    "\x00",
    "\u3002",
    "\uff0e",
    "\u00df",
    "xn--",
    "0x",
    "127.0.0.1",
    "A",
    "@127.0.0.1",
    "\\@",
    "%40",
]
BASE = "https://contoso.crm.dynamics.com:443/api"


def _connects_to(url: str) -> tuple[str, int]:
    prepared = requests.Request("GET", url).prepare()
    pool = urllib3.PoolManager().connection_from_url(prepared.url)
    return pool.host, pool.port


def test_it_returns_the_origin_rebuilt_from_the_host_and_port():
    assert environment_origin(" https://Contoso.CRM.dynamics.com:0443/api/data/v9.2?x#y ") == (
        "https://contoso.crm.dynamics.com"
    )


def test_a_refusal_is_an_auth_error_that_trying_again_does_not_fix():
    with pytest.raises(EnvironmentUrlRefused) as caught:
        environment_origin("https://127.0.0.1\\.crm.dynamics.com")
    assert isinstance(caught.value, AuthError)
    assert caught.value.kind == "auth"
    assert not caught.value.retryable
    assert "backslash" in caught.value.message


@pytest.mark.parametrize(
    ("allowed", "given", "expected"),
    [
        (["127.0.0.1:8443"], "https://127.0.0.1:8443/", "https://127.0.0.1:8443"),
        ([" LOCALHOST:8443 "], "https://localhost:8443", "https://localhost:8443"),
        (["emulator.internal:443"], "https://emulator.internal", "https://emulator.internal"),
        (["emulator.internal"], "https://Emulator.Internal:443", "https://emulator.internal"),
        (["[::1]:8443"], "https://[::1]:8443", "https://[::1]:8443"),
    ],
)
def test_an_operator_exception_is_matched_exactly(allowed, given, expected):
    assert environment_origin(given, extra_allowed_hosts=allowed) == expected


@pytest.mark.parametrize(
    ("allowed", "given"),
    [
        (["127.0.0.1:8443"], "https://127.0.0.1:8444"),
        (["127.0.0.1:8443"], "https://127.0.0.1"),
        (["127.0.0.1:8443"], "https://localhost:8443"),
        (["127.0.0.1:8443"], "https://0x7f.1:8443"),
        (["127.0.0.1:8443"], "http://127.0.0.1:8443"),
        (["emulator.internal"], "https://emulator.internal:8443"),
        (["emulator.internal"], "https://emulator.internal."),
        (["emulator.internal"], "https://sub.emulator.internal"),
        (["emulator.internal"], "https://emulator.internal%2F"),
        ([""], "https://"),
    ],
)
def test_nothing_near_an_operator_exception_passes(allowed, given):
    with pytest.raises(EnvironmentUrlRefused):
        environment_origin(given, extra_allowed_hosts=allowed)


def test_whatever_it_accepts_is_where_urllib3_connects():
    """Each tricky piece, inserted at every position of a Dynamics URL: every text the rule
    accepts sends urllib3 to the accepted host, both as typed and as rebuilt; the rest are
    refused with a message (never another exception)."""
    accepted = refused = 0
    for piece in TRICKY:
        for position in range(len("https://"), len(BASE) + 1):
            given = BASE[:position] + piece + BASE[position:]
            try:
                origin = environment_origin(given, extra_allowed_hosts=["127.0.0.1:8443"])
            except EnvironmentUrlRefused as error:
                assert error.message
                refused += 1
                continue
            accepted += 1
            host, port = _connects_to(origin)
            assert origin == f"https://{host}" and port == 443, given
            assert _connects_to(given) == (host, port), given
            assert host.endswith(".dynamics.com"), given
    assert accepted > 100 and refused > 100  # both sides of the rule were exercised
