"""Data validation flags, computed by the import against the emulator's demo org.

Each rule is shown on a deal of our own (``team``): an account with two contacts at Zeta, both
matched to network members who work there, on an open opportunity owned by Alex Morgan. A rule
fires when the CRM or the network changes, on the next (incremental) import; rows that did not
change are neither checked nor rewritten.
"""

import pytest

from network.models import Company
from sync.flags import contact_flags
from sync.models import ContactFlag, CrmContact, FlagReason, SyncRun
from tests.factories import CompanyFactory
from tests.sync.deals import zeta_deal

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]


@pytest.fixture
def team(crm, connected):
    """Zoe Zed and Yan Yu at Zeta Test Ltd in the CRM and in the network."""
    return zeta_deal(crm, email_domain="zeta.example")


def _flags(contact_id: str) -> dict[str, ContactFlag]:
    return {flag.reason: flag for flag in ContactFlag.objects.filter(contact__crm_id=contact_id)}


def test_a_contact_whose_data_agrees_with_the_network_has_no_flag(team, connected, run_sync):
    run = run_sync(connected)
    assert run.state == SyncRun.State.SUCCEEDED, run.error_detail
    assert CrmContact.objects.get(crm_id=team["contacts"]["Zoe"]).member == team["members"]["Zoe"]
    assert _flags(team["contacts"]["Zoe"]) == {}
    # The first import checked every contact of the org.
    assert run.counts["flags"]["checked"] == CrmContact.objects.filter(contract=connected).count()


def test_a_member_now_at_another_company_is_flagged_not_at_company(team, connected, run_sync):
    run_sync(connected)
    zoe = team["members"]["Zoe"]
    zoe.company, zoe.company_name = CompanyFactory(name="Fabrikam Labs"), "Fabrikam Labs"
    zoe.save()
    run = run_sync(connected)
    flags = _flags(team["contacts"]["Zoe"])
    assert set(flags) == {FlagReason.NOT_AT_COMPANY}
    assert flags[FlagReason.NOT_AT_COMPANY].detail == (
        "Zoe Zed works at Fabrikam Labs now, according to the network, not at Zeta Test Ltd."
    )
    assert run.counts["flags"] == {"checked": 1, "added": 1, "changed": 0, "removed": 0}


def test_an_email_at_another_domain_is_flagged(team, crm, connected, run_sync):
    run_sync(connected)
    crm.patch_row("contacts", team["contacts"]["Yan"], emailaddress1="yan.yu@fabrikam.example")
    run = run_sync(connected)
    flags = _flags(team["contacts"]["Yan"])
    assert set(flags) == {FlagReason.EMAIL_DOMAIN}
    assert flags[FlagReason.EMAIL_DOMAIN].detail == (
        "Yan Yu’s email address is at fabrikam.example, but the website of Zeta Test Ltd is "
        "zeta.example."
    )
    assert run.counts["flags"]["checked"] == 1


def test_a_subdomain_of_the_website_is_not_another_domain():
    contact = {
        "full_name": "Yan Yu", "email": "yan@mail.zeta.example", "account_id": "a",
        "member_id": None, "member__first_name": None, "member__last_name": None,
        "member__company_id": None, "member__company_name": None, "member__company__name": None,
    }  # fmt: skip
    account = {"name": "Zeta", "domain": "zeta.example", "name_key": "zeta", "company_id": None}
    assert contact_flags(contact, account) == []


def test_a_member_without_a_current_position_is_flagged(team, connected, run_sync):
    run_sync(connected)
    yan = team["members"]["Yan"]
    yan.company, yan.company_name = None, ""
    yan.save()
    run_sync(connected)
    flags = _flags(team["contacts"]["Yan"])
    assert set(flags) == {FlagReason.NO_POSITION}
    assert flags[FlagReason.NO_POSITION].detail == (
        "Yan Yu lists no current position in the network."
    )


def test_the_import_updates_only_the_flags_of_what_changed(team, crm, connected, run_sync):
    """GIVEN both contacts flagged (their email at another domain), and every flag of the org
    WHEN one contact changes in the CRM and an incremental import runs
    THEN only that contact is checked and only its flag is rewritten; the others keep their
    ``updated_at``; and a flag whose cause is fixed goes."""
    for first in ("Zoe", "Yan"):
        crm.patch_row("contacts", team["contacts"][first], emailaddress1=f"{first}@old.example")
    run_sync(connected)
    before = dict(ContactFlag.objects.filter(contract=connected).values_list("pk", "updated_at"))
    assert len(before) >= 2
    crm.patch_row("contacts", team["contacts"]["Zoe"], emailaddress1="zoe@older.example")
    run = run_sync(connected)
    assert run.counts["flags"] == {"checked": 1, "added": 0, "changed": 1, "removed": 0}
    zoe = _flags(team["contacts"]["Zoe"])[FlagReason.EMAIL_DOMAIN]
    assert "older.example" in zoe.detail
    after = dict(ContactFlag.objects.filter(contract=connected).values_list("pk", "updated_at"))
    assert after.keys() == before.keys()
    assert after[zoe.pk] > before[zoe.pk]
    assert {pk: at for pk, at in after.items() if pk != zoe.pk} == {
        pk: at for pk, at in before.items() if pk != zoe.pk
    }
    crm.patch_row("contacts", team["contacts"]["Zoe"], emailaddress1="zoe@zeta.example")
    run = run_sync(connected)
    assert run.counts["flags"] == {"checked": 1, "added": 0, "changed": 0, "removed": 1}
    assert _flags(team["contacts"]["Zoe"]) == {}


def test_a_network_company_change_checks_its_accounts_contacts(team, connected, run_sync):
    run_sync(connected)
    Company.objects.filter(domain="zeta.example").get().save()
    run = run_sync(connected)
    assert run.counts["flags"]["checked"] == 2
