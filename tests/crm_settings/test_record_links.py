"""Links to a record open in a browser: at the environment, or (the emulator) where
``DYNAMICS_BROWSER_URLS`` says, since its https port has a self-signed certificate."""

import pytest
from django.urls import reverse

from tests.conftest import point_portal_at
from tests.factories import CrmConnectionFactory, SavedLeadFactory

pytestmark = pytest.mark.django_db
RECORD = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


def test_a_real_orgs_links_go_to_the_environment(contract, settings):
    settings.DYNAMICS_BROWSER_URLS = {"https://127.0.0.1:8443": "http://127.0.0.1:8444"}
    connection = CrmConnectionFactory(
        contract=contract, environment_url="https://contoso.crm.dynamics.com/"
    )
    assert connection.record_url("contact", RECORD) == (
        f"https://contoso.crm.dynamics.com/main.aspx?pagetype=entityrecord&etn=contact&id={RECORD}"
    )


def test_the_emulators_links_go_to_its_browser_address(contract, settings):
    settings.DYNAMICS_BROWSER_URLS = {"https://127.0.0.1:8443": "http://127.0.0.1:8444"}
    connection = CrmConnectionFactory(contract=contract, environment_url="https://127.0.0.1:8443")
    assert connection.record_url("account", RECORD).startswith(
        "http://127.0.0.1:8444/main.aspx?pagetype=entityrecord&etn=account&id="
    )


@pytest.mark.emulator
def test_an_in_crm_badge_opens_the_record_over_plain_http(
    emulator_factory, settings, login, seat_holder, contract
):
    """In the demo every CRM link failed in the browser with a certificate error."""
    org = point_portal_at(settings, emulator_factory(size="demo", browser_port=0))
    contact = org.rows("contacts", top=1)[0]
    CrmConnectionFactory(contract=contract, environment_url=org.base_url)
    SavedLeadFactory(seat=seat_holder, imported=True, crm_record_id=contact["contactid"])

    page = login(seat_holder).get(reverse("network:leads"))

    link = f"{org.browser_url}/main.aspx?pagetype=entityrecord&amp;etn=contact&amp;id="
    assert link in page.content.decode()
    opened = org.session().get(
        link.replace("&amp;", "&") + contact["contactid"], timeout=30, allow_redirects=False
    )
    assert opened.status_code == 200 and contact["emailaddress1"] in opened.text
