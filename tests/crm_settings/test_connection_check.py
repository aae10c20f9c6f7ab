"""*Check connection* and ``manage.py crm_doctor``: every read-only check the import and the
writeback need, against the emulator's org, each made to fail once; never a write to Dynamics."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from crm_settings.models import CrmConnection
from tests.conftest import INTEGRATION_USER

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]

CHECK = "crm_settings:check_connection"
# Every table the emulator has, for privilege lists that leave one out.
ALL_TABLES = ["systemuser", "transactioncurrency", "account", "contact", "lead", "opportunity",
              "task", "annotation", "li_inmail", "li_message"]  # fmt: skip
PRIVILEGE_MESSAGE = (
    "Your CRM account does not have sufficient access privileges. "
    "Please check with your CRM administrator."
)


def _doctor(contract) -> tuple[str, str | None]:
    """Run the command; (its output, the CommandError's message or None)."""
    out = StringIO()
    try:
        call_command("crm_doctor", str(contract.pk), stdout=out)
    except CommandError as error:
        return out.getvalue(), str(error)
    return out.getvalue(), None


def _only_read(dynamics) -> None:
    methods = dynamics.stats()["by_kind_method"].get("api", {})
    assert set(methods) <= {"GET"}, methods


@pytest.fixture
def checked(crm_contract, dynamics):
    """The connected contract, with the emulator's request counts reset after connecting."""
    dynamics.reset_stats()
    yield crm_contract
    _only_read(dynamics)


@pytest.fixture
def integration_privileges(dynamics):
    """Change the Integration User's privileges for one test; restored afterwards."""
    before = dynamics.privileges(INTEGRATION_USER)
    yield lambda **changes: dynamics.set_privileges(INTEGRATION_USER, **changes)
    dynamics.set_privileges(INTEGRATION_USER, **before)


def test_every_check_passes_against_a_well_set_up_org(checked, dynamics):
    out, failed = _doctor(checked)
    assert failed is None, out
    assert "FAIL" not in out
    for name in (
        "Sign in to Dynamics",
        "Users: read rows",
        "Currencies: table definition",
        "Opportunities: change tracking",
        "Opportunity sales stages and money fields",
        "LinkedIn Sales Navigator solution",
        "Privileges for the import",
        "Privileges for writeback",
        "Privileges for Create record in CRM",
        "Act on behalf of seat holders",
    ):
        assert f"PASS  {name}" in out, name
    assert "checks passed" in out
    assert dynamics.stats()["by_kind_method"]["api"]["GET"] > 0


def test_a_missing_table_fails_with_the_guide_s_words(checked, dynamics):
    dynamics.set_faults(missing_tables=["contact"])
    out, failed = _doctor(checked)
    assert failed and "checks failed" in failed
    assert "FAIL  Contacts: table definition" in out
    assert "FAIL  Contacts: read rows" in out
    assert "Could not read the required CRM objects from your org." in out
    assert "PASS  Accounts: read rows" in out


def test_change_tracking_off_fails_with_where_to_turn_it_on(checked, dynamics):
    dynamics.set_change_tracking("account", False)
    try:
        out, failed = _doctor(checked)
    finally:
        dynamics.set_change_tracking("account", True)
    assert failed
    assert "FAIL  Accounts: change tracking" in out
    assert "Next step: In Power Apps, open Tables > Account > Properties" in out
    assert "PASS  Contacts: change tracking" in out


def test_a_missing_privilege_is_named(checked, integration_privileges):
    integration_privileges(create=[t for t in ALL_TABLES if t != "li_inmail"])
    out, failed = _doctor(checked)
    assert failed
    assert "FAIL  Privileges for writeback" in out
    assert "Missing: prvCreateli_inmail." in out
    assert PRIVILEGE_MESSAGE in out
    assert "Next step: Connect with your internal CRM administrator" in out
    assert "PASS  Privileges for the import" in out


def test_a_missing_read_fails_the_table_and_the_import_privileges(checked, integration_privileges):
    integration_privileges(read=[t for t in ALL_TABLES if t != "opportunity"])
    out, failed = _doctor(checked)
    assert "FAIL  Opportunities: read rows" in out
    assert "FAIL  Privileges for the import" in out
    assert "prvReadOpportunity" in out


def test_no_solution_fails_with_get_it_now(checked, dynamics):
    dynamics.set_linkedin_solution(False)
    try:
        out, failed = _doctor(checked)
    finally:
        dynamics.set_linkedin_solution(True)
    assert failed
    assert "FAIL  LinkedIn Sales Navigator solution" in out
    assert "Next step: Select Get it now" in out
    # Its tables' privileges went with it: not asked for twice.
    assert "PASS  Privileges for writeback" in out


def test_no_impersonation_fails_with_the_privilege_to_add(checked, integration_privileges):
    integration_privileges(delegate=False)
    out, failed = _doctor(checked)
    assert failed
    assert "FAIL  Act on behalf of seat holders" in out
    assert "Act on Behalf of Another User privilege" in out


def test_an_unreachable_crm_fails_the_sign_in_and_stops(checked, dynamics):
    dynamics.set_faults(unreachable=True)
    out, failed = _doctor(checked)
    assert failed == "1 of 1 checks failed."
    assert "FAIL  Sign in to Dynamics" in out
    assert "Could not connect to CRM. Please try again later." in out
    assert "Next step: There is a connection error with CRM. Please re-try later." in out


def test_the_command_finds_the_contract_by_name_and_refuses_others(crm_contract, contract):
    out = StringIO()
    call_command("crm_doctor", contract.name.upper(), stdout=out)
    assert "All " in out.getvalue()
    with pytest.raises(CommandError, match="No contract has the id or name 'nope'"):
        call_command("crm_doctor", "nope")
    CrmConnection.objects.filter(contract=contract).delete()
    with pytest.raises(CommandError, match="is not connected to CRM"):
        call_command("crm_doctor", str(contract.pk))


def test_the_button_shows_the_results_on_crm_settings(checked, client, dynamics):
    dynamics.set_change_tracking("contact", False)
    try:
        response = client.post(reverse(CHECK))
    finally:
        dynamics.set_change_tracking("contact", True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Connection check" in page
    assert "checks failed" in page
    assert "Contacts: change tracking" in page
    assert "Next step: In Power Apps, open Tables &gt; Contact" in page
    assert page.count("badge-ok") > 10


def test_the_button_is_for_admins_and_posts_only(
    crm_contract, client, login, seat_holder, outsider
):
    login(seat_holder)
    assert client.post(reverse(CHECK)).status_code == 403
    login(outsider)
    response = client.post(reverse(CHECK))
    assert response.status_code == 302  # the outsider's own contract is not connected
    assert client.get(reverse(CHECK)).status_code == 405


def test_the_page_offers_the_button_when_connected(crm_contract, client):
    page = client.get(reverse("crm_settings:index")).content.decode()
    assert reverse(CHECK) in page
    assert "Check connection" in page
