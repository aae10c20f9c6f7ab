"""The environment URL the portal sends its bearer token to (issue 12, "the environment URL check
can be bypassed").

``urlsplit`` and requests/urllib3 disagreed about the host of
``https://127.0.0.1\\.crm.dynamics.com``: the check saw a Dynamics host, requests connected to
127.0.0.1:443 with the token. One strict rule (``dynamics.environment.environment_origin``) now
decides for the connect form and for the client, and the host it accepts is the host urllib3
connects to.
"""

import re
from urllib.parse import urlsplit

import pytest
import requests
import urllib3
from django.core.exceptions import ValidationError
from django.urls import reverse

from crm_settings.connect import environment_url_clean
from crm_settings.models import CrmConnection
from dynamics import AuthError, DynamicsClient, MsalAuth, StaticTokenAuth, make_session
from sync.models import SyncRun
from sync.runs import sync_run_claim, sync_run_request
from sync.services import sync_run_execute
from tests.factories import CrmConnectionFactory
from writeback.tasks import drain_outbox

# Every form tried in the review, with the words the admin is shown.
REFUSED = [
    pytest.param("https://127.0.0.1\\.crm.dynamics.com", "backslash", id="backslash"),
    pytest.param("https://169.254.169.254\\.crm.dynamics.com", "backslash", id="backslash-imds"),
    pytest.param("https://127.0.0.1@contoso.crm.dynamics.com", "user name", id="at-userinfo"),
    pytest.param("https://contoso.crm.dynamics.com@127.0.0.1", "user name", id="at-host-after"),
    pytest.param("https://@contoso.crm.dynamics.com", "user name", id="at-empty-userinfo"),
    pytest.param("https://127.0.0.1%5C.crm.dynamics.com", "percent-encoded", id="percent-5C"),
    pytest.param("https://127.0.0.1%2F.crm.dynamics.com", "percent-encoded", id="percent-2F"),
    pytest.param("https://contoso%2ecrm.dynamics.com", "percent-encoded", id="percent-dot"),
    pytest.param("https://[::1]", "IP address", id="ipv6-loopback"),
    pytest.param("https://[::ffff:127.0.0.1]:443", "IP address", id="ipv6-mapped"),
    pytest.param("https://127.0.0.1", "IP address", id="ipv4-dotted"),
    pytest.param("https://2130706433", "IP address", id="ipv4-decimal"),
    pytest.param("https://0x7f000001", "IP address", id="ipv4-hex"),
    pytest.param("https://0177.0.0.1", "IP address", id="ipv4-octal"),
    pytest.param("https://127.1", "IP address", id="ipv4-short"),
    pytest.param("https://contoso.crm.dynamics.com.", "dot at the end", id="trailing-dot"),
    pytest.param("https://contoso.crm.dynamics.com:0", "port", id="port-0"),
    pytest.param("https://contoso.crm.dynamics.com:99999", "port", id="port-99999"),
    pytest.param("https://contoso.crm.dynamics.com:8443", "standard https port", id="port-8443"),
    pytest.param("https://contoso.crm.dynamics.com:x", "port", id="port-not-a-number"),
    pytest.param("https://b\u00fccher.crm.dynamics.com", "U+00FC", id="non-ascii"),
    pytest.param("https://xn--bcher-kva.crm.dynamics.com", "international", id="punycode"),
    pytest.param("https://contoso\uff0ecrm.dynamics.com", "U+FF0E", id="fullwidth-dot"),
    pytest.param("https://contoso\u3002crm.dynamics.com", "U+3002", id="ideographic-dot"),
    pytest.param("https://con toso.crm.dynamics.com", "space", id="space"),
    pytest.param("https://contoso\t.crm.dynamics.com", "U+0009", id="tab"),
    pytest.param("https://contoso\x00.crm.dynamics.com", "U+0000", id="nul"),
    pytest.param("https://con_toso.crm.dynamics.com", "letters", id="underscore"),
    pytest.param("https://contoso..crm.dynamics.com", "letters", id="empty-label"),
    pytest.param("https://contoso.crm.dynamics.com.evil.example", "not a Dynamics", id="suffix"),
    pytest.param("http://contoso.crm.dynamics.com", "https://", id="http"),
    pytest.param("https:contoso.crm.dynamics.com", "https://", id="no-slashes"),
]

ACCEPTED = [
    ("https://contoso.crm.dynamics.com", "https://contoso.crm.dynamics.com"),
    ("https://CONTOSO.CRM4.Dynamics.COM", "https://contoso.crm4.dynamics.com"),
    ("HTTPS://contoso.crm.dynamics.com", "https://contoso.crm.dynamics.com"),
    ("https://contoso.crm.dynamics.com:443/", "https://contoso.crm.dynamics.com"),
    (
        "https://contoso-eu.api.crm4.dynamics.com/api/data/v9.2/",
        "https://contoso-eu.api.crm4.dynamics.com",
    ),
    ("https://contoso.crm.dynamics.com/main.aspx?a=b@c#d", "https://contoso.crm.dynamics.com"),
    ("https://contoso.crm9.dynamics.com?@evil.example", "https://contoso.crm9.dynamics.com"),
    ("https://contoso.crm.microsoftdynamics.us", "https://contoso.crm.microsoftdynamics.us"),
]


@pytest.mark.parametrize(("given", "message"), REFUSED)
def test_connect_refuses_every_form_tried_with_a_clear_message(given, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        environment_url_clean(given)


def test_an_operator_allowed_host_still_refuses_the_tricks_around_it(settings):
    settings.DYNAMICS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1:8443"]
    assert environment_url_clean("https://127.0.0.1:8443/api/data/v9.2") == (
        "https://127.0.0.1:8443"
    )
    for trick in (
        "https://127.0.0.1:8443\\.crm.dynamics.com",
        "https://127.1:8443",
        "https://0x7f000001:8443",
        "https://127.0.0.1.:8443",
        "https://x@127.0.0.1:8443",
        "https://127.0.0.1:443",
        "https://127.0.0.1",
    ):
        with pytest.raises(ValidationError):
            environment_url_clean(trick)


def _where_urllib3_connects(url: str) -> tuple[str, int]:
    """The host and port the HTTP stack opens a connection to for a request to ``url``."""
    prepared = requests.Request("GET", f"{url}/api/data/v9.2/WhoAmI").prepare()
    pool = urllib3.PoolManager().connection_from_url(prepared.url)
    return pool.host, pool.port


@pytest.mark.parametrize(("given", "expected"), ACCEPTED)
def test_the_accepted_host_is_the_host_urllib3_connects_to(given, expected):
    origin = environment_url_clean(given)
    assert origin == expected
    accepted = urlsplit(origin)
    assert _where_urllib3_connects(origin) == (accepted.hostname, 443)
    # The admin's own text, sent as it was, would have reached the same host.
    typed = urllib3.util.parse_url(given.strip())
    assert (typed.host, typed.port or 443) == (accepted.hostname, 443)


def test_the_backslash_form_is_the_one_urllib3_sends_to_127_0_0_1():
    """Why the old check failed: the two parsers read two different hosts."""
    attack = "https://127.0.0.1\\.crm.dynamics.com"
    assert urlsplit(attack).hostname == "127.0.0.1\\.crm.dynamics.com"
    assert _where_urllib3_connects(attack) == ("127.0.0.1", 443)


@pytest.mark.django_db
@pytest.mark.emulator
@pytest.mark.parametrize(
    ("given", "message"),
    [
        pytest.param("https://127.0.0.1\\.crm.dynamics.com", "backslash", id="backslash"),
        pytest.param("https://contoso.crm.dynamics.com:99999", "port", id="port-99999"),
        pytest.param("https://127.0.0.1%5C.crm.dynamics.com", "percent-encoded", id="percent"),
    ],
)
def test_posting_a_bad_url_to_connect_shows_a_form_error_and_sends_nothing(
    login, admin, contract, dynamics, given, message
):
    dynamics.reset_stats()
    response = login(admin).post(
        reverse("crm_settings:connect"), {"environment_url": given, "tenant": ""}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert set(dynamics.stats()["by_kind"]) <= {"control"}  # only this test's own stats call
    assert not CrmConnection.objects.filter(contract=contract).exists()


@pytest.mark.emulator
def test_the_client_refuses_to_send_a_token_to_a_url_that_does_not_pass(emulator_clean):
    """The backslash form aimed at the emulator's port: requests would deliver it there."""
    netloc = urlsplit(emulator_clean.base_url).netloc
    session = make_session(ca_bundle=emulator_clean.ca_cert)
    emulator_clean.reset_stats()
    with pytest.raises(AuthError, match="backslash"):
        client = DynamicsClient(
            f"https://{netloc}\\.crm.dynamics.com", StaticTokenAuth("secret"), session=session
        )
        client.whoami()
    assert set(emulator_clean.stats()["by_kind"]) <= {"control"}


def test_the_client_and_the_sign_in_refuse_what_connect_refuses():
    bad = "https://127.0.0.1\\.crm.dynamics.com"
    with pytest.raises(AuthError, match="backslash"):
        DynamicsClient(bad, StaticTokenAuth("secret"))
    with pytest.raises(AuthError, match="backslash"):
        MsalAuth(
            environment_url=bad,
            client_id="c",
            client_credential="s",
            authority="https://login.microsoftonline.com/organizations",
            session=make_session(),
        )


STORED_BAD_URL = "https://169.254.169.254\\.crm.dynamics.com"


@pytest.fixture
def stored_bad_connection(contract, dynamics):
    """A connection saved before the check was strict, with the metadata-service trick."""
    return CrmConnectionFactory(contract=contract, environment_url=STORED_BAD_URL)


@pytest.mark.django_db
@pytest.mark.emulator
def test_crm_settings_explains_a_stored_bad_url_instead_of_failing(
    login, admin, stored_bad_connection
):
    client = login(admin)
    response = client.get(reverse("crm_settings:index"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "environment URL of this connection is not accepted" in page
    assert "backslash" in page
    # Opening the page writes nothing; the first use of the connection records the error.
    assert client.post(reverse("crm_settings:refresh_choices")).status_code == 302
    stored_bad_connection.refresh_from_db()
    assert stored_bad_connection.status == CrmConnection.Status.ERROR


@pytest.mark.django_db
@pytest.mark.emulator
def test_a_sync_of_a_stored_bad_url_fails_with_the_reason(contract, stored_bad_connection):
    run, _ = sync_run_request(contract=contract, trigger=SyncRun.Trigger.MANUAL)
    assert sync_run_claim(run=run)
    sync_run_execute(run=run)
    run.refresh_from_db()
    assert run.state == SyncRun.State.FAILED
    assert run.error_kind == "auth"
    assert "backslash" in run.error_detail
    assert run.requests == 0


@pytest.mark.django_db
@pytest.mark.emulator
def test_the_writeback_of_a_stored_bad_url_sends_nothing_and_says_why(
    contract, stored_bad_connection
):
    assert drain_outbox(contract.pk) == 0
    stored_bad_connection.refresh_from_db()
    assert stored_bad_connection.last_error_kind == "auth"
    assert "backslash" in stored_bad_connection.last_error_detail
