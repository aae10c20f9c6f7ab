"""The demo data generator: deterministic, consistent, streaming."""

from __future__ import annotations

import collections
import inspect
import json

import demodata
from dynamics_emulator.app import seed_store
from dynamics_emulator.store import Store


def _dump(org) -> str:
    return json.dumps([(name, list(rows)) for name, rows in org.tables()], sort_keys=True)


def test_same_size_and_seed_give_identical_rows():
    assert _dump(demodata.generate_org("demo", 42)) == _dump(demodata.generate_org("demo", 42))


def test_another_seed_gives_other_rows_and_ids():
    first, second = demodata.generate_org("demo", 42), demodata.generate_org("demo", 43)
    assert first.tenant_id != second.tenant_id
    assert next(iter(first.accounts))["accountid"] != next(iter(second.accounts))["accountid"]


def test_seeded_stores_are_identical_for_the_same_seed(tmp_path):
    dumps = []
    for name in ("a.db", "b.db"):
        store = Store(str(tmp_path / name))
        seed_store(store, "demo", 7)
        rows = store.db.execute("SELECT entity, id, version, body FROM rows ORDER BY entity, id")
        dumps.append(list(rows))
    assert dumps[0] == dumps[1]
    assert len(dumps[0]) == demodata.generate_org("demo", 7).total_rows()


def test_sizes_have_the_documented_counts():
    demo = demodata.generate_org("demo")
    assert (len(demo.accounts), len(demo.contacts), len(demo.opportunities)) == (120, 400, 250)
    assert 8 <= len(demo.users) <= 13
    huge = demodata.generate_org("huge")
    assert len(huge.users) >= 1000
    assert (len(huge.accounts), len(huge.contacts), len(huge.opportunities)) == \
        (50_000, 200_000, 100_000)


def test_demo_users_are_all_in_the_org():
    org = demodata.generate_org("small")
    emails = {user["internalemailaddress"]: user for user in org.users}
    for demo_user in demodata.DEMO_USERS:
        user = emails[demo_user.email]
        assert user["fullname"] == demo_user.fullname
        assert user["isdisabled"] is demo_user.disabled
        assert demo_user.email.endswith("@contoso-demo.com")
    roles = {u.email: u.role for u in demodata.DEMO_USERS}
    assert roles["integration@contoso-demo.com"] == "integration"
    assert roles["admin@contoso-demo.com"] == "admin"
    assert roles["readonly@contoso-demo.com"] == "readonly"
    seats = {u.email for u in demodata.DEMO_USERS if u.seat}
    assert "jordan.kim@contoso-demo.com" not in seats and "lee.chen@contoso-demo.com" not in seats
    assert sum(u.disabled for u in demodata.DEMO_USERS) == 1
    app_users = [u for u in org.users if u["applicationid"]]
    assert [u["fullname"] for u in app_users] == ["Portal Integration App"]


def test_opportunities_are_consistent_with_accounts_and_contacts():
    org = demodata.generate_org("demo")
    contacts = {c["contactid"]: c for c in org.contacts}
    accounts = {a["accountid"] for a in org.accounts}
    owners = {u["systemuserid"] for u in org.users}
    states = collections.Counter()
    with_contact = 0
    for opportunity in org.opportunities:
        states[opportunity["statecode"]] += 1
        assert opportunity["_parentaccountid_value"] in accounts
        assert opportunity["_ownerid_value"] in owners
        assert opportunity["salesstage"] in (0, 1, 2, 3)
        contact_id = opportunity["_parentcontactid_value"]
        if contact_id:
            with_contact += 1
            assert contacts[contact_id]["_parentcustomerid_value"] == \
                opportunity["_parentaccountid_value"]
        if opportunity["statecode"] == 1:
            assert opportunity["actualvalue"] and opportunity["new_wonamount"]
        assert opportunity["_customerid_value"] in (opportunity["_parentaccountid_value"],
                                                     contact_id)
    assert states[0] > states[1] > 0 and states[2] > 0
    assert with_contact > 0.7 * len(org.opportunities)


def test_most_contacts_have_an_account_and_an_email_at_its_domain():
    org = demodata.generate_org("demo")
    websites = {a["accountid"]: a["websiteurl"] for a in org.accounts}
    contacts = list(org.contacts)
    with_account = [c for c in contacts if c["_parentcustomerid_value"]]
    assert 0.9 < len(with_account) / len(contacts) < 1
    assert sum(1 for c in contacts if c["emailaddress1"]) > 0.8 * len(contacts)
    matching = [c for c in with_account if c["emailaddress1"] and websites[
        c["_parentcustomerid_value"]] and websites[c["_parentcustomerid_value"]].endswith(
        c["emailaddress1"].split("@")[1])]
    assert len(matching) > 0.7 * len(with_account)


def test_the_network_mirrors_about_seventy_percent_of_contacts_and_accounts():
    org = demodata.generate_org("small")
    network = demodata.network_for_org(org, seed=42)
    people = list(network.people)
    companies = list(network.companies)
    counterparts = [p for p in people if p["crm_contactid"]]
    assert 0.62 < len(counterparts) / len(org.contacts) < 0.78
    crm_companies = [c for c in companies if c["crm_accountid"]]
    assert 0.62 < len(crm_companies) / len(org.accounts) < 0.78
    kinds = collections.Counter(p["match"] for p in counterparts)
    assert kinds["email"] > kinds["name_company"] > kinds["variant"] > 0
    assert any(p["crm_contactid"] is None and p["crm_leadid"] is None for p in people)
    for person in people[:50]:
        assert person["profile_url"].startswith("https://www.linkedin.com/in/")
        assert set(person) >= {"first_name", "last_name", "headline", "company_name", "email"}
    assert len({p["profile_url"] for p in people}) == len(people)
    assert companies[0]["linkedin_url"].startswith("https://www.linkedin.com/company/")


def test_the_network_is_deterministic_and_streams():
    org = demodata.generate_org("demo")
    first = list(demodata.network_for_org(org, seed=5).people)
    second = list(demodata.network_for_org(org, seed=5).people)
    assert first == second
    network = demodata.network_for_org(demodata.generate_org("huge"))
    assert inspect.isgenerator(iter(network.people))
    assert inspect.isgenerator(iter(network.companies))
