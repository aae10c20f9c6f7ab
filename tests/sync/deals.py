"""A deal of our own on the emulator's demo org, for the data validation tests (the import's
flags in ``tests/sync``, the page in ``tests/validation``)."""

from tests.factories import CompanyFactory, MemberFactory

ALEX = "alex.morgan@contoso-demo.com"
PEOPLE = (("Zoe", "Zed"), ("Yan", "Yu"))


def zeta_deal(crm, *, email_domain: str) -> dict:
    """Zoe Zed and Yan Yu at Zeta Test Ltd (website zeta.example), in the CRM and in the network
    (working at Zeta Test), both with emails at ``email_domain``; Zoe on an open opportunity of
    Alex Morgan's. Returns the account's id, the contacts' ids and the members, by first name."""
    account = crm.create_row("accounts", name="Zeta Test Ltd", websiteurl="https://zeta.example")
    contacts = {
        first: crm.create_row(
            "contacts",
            firstname=first,
            lastname=last,
            emailaddress1=f"{first.lower()}@{email_domain}",
            _parentcustomerid_value=account["accountid"],
        )["contactid"]
        for first, last in PEOPLE
    }
    crm.create_opportunity(
        name="Zeta - Platform",
        salesstage=2,
        _ownerid_value=crm.user(ALEX)["systemuserid"],
        _parentaccountid_value=account["accountid"],
        _parentcontactid_value=contacts["Zoe"],
    )
    company = CompanyFactory(name="Zeta Test", domain="zeta.example")
    members = {
        first: MemberFactory(
            first_name=first,
            last_name=last,
            email=f"{first.lower()}@{email_domain}",
            company=company,
        )
        for first, last in PEOPLE
    }
    return {"account": account["accountid"], "contacts": contacts, "members": members}
