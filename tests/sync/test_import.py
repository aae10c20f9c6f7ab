"""The import against the Dynamics emulator's demo org, through the real services and client.

Each test starts from the seeded org (``crm`` resets it) and a contract connected by the real
sign-in flow (``connected``). Scenarios that change the CRM between runs use a deal of their own
(``deal``), so their assertions do not depend on the generated data.
"""

import uuid

import pytest
from django.db.models import Q

import demodata
from crm_settings.selectors import crm_settings_get
from crm_settings.services import sync_settings_update
from dynamics import ConnectError
from network.models import Company, Member, SavedAccount, SavedLead
from seats.models import CrmSync, Seat
from sync.explain import Rule, accounts_explain, contacts_explain, seats_explain
from sync.models import (
    CrmAccount,
    CrmContact,
    CrmCurrency,
    CrmOpportunity,
    MatchMethod,
    SeatCrmUser,
    SyncCursor,
    SyncRun,
)
from sync.tasks import sync_run
from tests.factories import CompanyFactory, MemberFactory, SavedAccountFactory
from tests.sync.conftest import SEAT_HOLDERS

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]
TABLES = ("systemuser", "transactioncurrency", "account", "contact", "opportunity")
STAGE_OPTIONS = [{"value": value, "label": label} for value, label in demodata.SALES_STAGES]


def _uuid(value) -> uuid.UUID:
    return uuid.UUID(str(value))


def _saved(model, target: str) -> set[tuple[str, int]]:
    return set(model.objects.filter(from_crm=True).values_list("seat__user__email", target))


def _expected_saves(crm, contract, *, gate=None) -> tuple[set, set]:
    """The saves the rules call for, worked out here from the emulator's raw rows and the
    mirror's network matches (an oracle independent of the evaluation's SQL)."""
    emails = {
        user["systemuserid"]: (user["email"] or "").lower()
        for user in crm.users()
        if not user["isdisabled"]
    }
    with_seats = set(Seat.objects.filter(contract=contract).values_list("user__email", flat=True))
    companies = dict(
        CrmAccount.objects.filter(contract=contract).values_list("crm_id", "company_id")
    )
    members = dict(CrmContact.objects.filter(contract=contract).values_list("crm_id", "member_id"))
    accounts, leads = set(), set()
    for row in crm.rows("opportunities", top=100_000):
        owner = emails.get(row["_ownerid_value"])
        if row["statecode"] != 0 or owner not in with_seats:
            continue
        if gate is not None and row["salesstage"] not in gate:
            continue
        if company := companies.get(_uuid(row["_parentaccountid_value"])):
            accounts.add((owner, company))
        for key in ("_parentcontactid_value", "_customerid_value"):
            if row.get(key) and (member := members.get(_uuid(row[key]))):
                leads.add((owner, member))
    return accounts, leads


def test_the_first_import_follows_the_rules(connected, crm, run_sync):
    run = run_sync(connected)
    assert run.state == SyncRun.State.SUCCEEDED, run.error_detail
    for table in TABLES:
        assert run.counts[table]["how"] == "full read (first import)"
        assert run.counts[table]["read"] == run.counts[table]["created"] > 0
    accounts, leads = _expected_saves(crm, connected)
    assert accounts and leads
    assert _saved(SavedAccount, "company_id") == accounts
    assert _saved(SavedLead, "member_id") == leads
    assert run.counts["saves"]["accounts_added"] == len(accounts)
    assert SeatCrmUser.objects.filter(crm_user__isnull=False).count() == len(SEAT_HOLDERS) + 1


def test_matching_finds_the_networks_counterparts_and_nothing_else(connected, run_sync):
    """GIVEN the demo network generated with the org (each counterpart names its CRM row)
    THEN every counterpart with the same email or domain is found, most name-and-company ones
    too, spelling variants are not, and nothing matches a stranger."""
    run_sync(connected)
    network = demodata.network_for_org(demodata.generate_org("demo", 42), 42)
    truth = {person["profile_url"]: person for person in network.people}
    matched = CrmContact.objects.filter(contract=connected, member__isnull=False)
    for contact in matched.select_related("member"):
        person = truth[contact.member.profile_url]
        assert person["crm_contactid"] == str(contact.crm_id), contact
    found = {str(c.crm_id) for c in matched}
    kinds = {"email": 0, "name_company": 0, "variant": 0}
    for person in truth.values():
        if person["crm_contactid"]:
            kinds[person["match"]] += person["crm_contactid"] in found
    contacts = [p for p in truth.values() if p["crm_contactid"]]
    expected = {kind: sum(p["match"] == kind for p in contacts) for kind in kinds}
    assert kinds["email"] == expected["email"]
    assert kinds["name_company"] >= 0.9 * expected["name_company"]
    assert kinds["variant"] == 0
    company_truth = {c["crm_accountid"]: c for c in network.companies if c["crm_accountid"]}
    for account in CrmAccount.objects.filter(contract=connected, company__isnull=False):
        assert company_truth[str(account.crm_id)]["name"] == account.company.name


def test_unmatched_contacts_are_kept_and_reported(connected, run_sync):
    run = run_sync(connected)
    unmatched = CrmContact.objects.filter(contract=connected, member__isnull=True)
    assert run.counts["contact"]["unmatched"] == unmatched.count() > 0
    assert set(unmatched.values_list("match_method", flat=True)) == {MatchMethod.NONE}
    explanations = contacts_explain(contract=connected, contacts=list(unmatched))
    assert Rule.NO_NETWORK_MATCH in {e.rule for e in explanations.values()}


def test_the_stage_gate_and_not_sure(connected, crm, run_sync, django_capture_on_commit_callbacks):
    run_sync(connected)
    admin = connected.seats.get(role="admin").user
    # Saving the stage on CRM Settings starts an import (the task runs inline in tests).
    with django_capture_on_commit_callbacks(execute=True):
        sync_settings_update(
            contract=connected,
            values={"pipeline_stage": 2, "pipeline_stage_label": "Propose"},
            stage_options=STAGE_OPTIONS,
            by=admin,
        )
    run = SyncRun.objects.filter(contract=connected).latest("created_at")
    assert run.trigger == SyncRun.Trigger.SETTINGS and run.state == SyncRun.State.SUCCEEDED
    gated = _expected_saves(crm, connected, gate={2, 3})
    assert (_saved(SavedAccount, "company_id"), _saved(SavedLead, "member_id")) == gated
    assert run.counts["saves"]["accounts_removed"] > 0
    with django_capture_on_commit_callbacks(execute=True):
        sync_settings_update(
            contract=connected,
            values={"pipeline_stage": None, "pipeline_stage_label": ""},
            stage_options=[],
            by=admin,
        )
    everything = _expected_saves(crm, connected)
    assert (_saved(SavedAccount, "company_id"), _saved(SavedLead, "member_id")) == everything


@pytest.fixture
def deal(crm, connected):
    """An account and contact of our own in the CRM and the network, and an open opportunity at
    Propose owned by Alex Morgan."""
    account = crm.create_row("accounts", name="Zeta Test Ltd", websiteurl="https://zeta.example")
    contact = crm.create_row(
        "contacts",
        firstname="Zoe",
        lastname="Zed",
        emailaddress1="zoe@zeta.example",
        _parentcustomerid_value=account["accountid"],
    )
    opportunity = crm.create_opportunity(
        name="Zeta - Platform",
        salesstage=2,
        _ownerid_value=crm.user("alex.morgan@contoso-demo.com")["systemuserid"],
        _parentaccountid_value=account["accountid"],
        _parentcontactid_value=contact["contactid"],
    )
    return {
        "company": CompanyFactory(name="Zeta Test", domain="zeta.example"),
        "member": MemberFactory(first_name="Zoe", last_name="Zed", email="zoe@zeta.example"),
        "account": account["accountid"],
        "contact": contact["contactid"],
        "opportunity": opportunity["opportunityid"],
    }


def _deal_saves(deal) -> set[tuple[str, str]]:
    """Who has the deal's company and person saved from CRM."""
    accounts = SavedAccount.objects.filter(company=deal["company"], from_crm=True)
    leads = SavedLead.objects.filter(member=deal["member"], from_crm=True)
    return {(s.seat.user.email, "account") for s in accounts.select_related("seat__user")} | {
        (s.seat.user.email, "lead") for s in leads.select_related("seat__user")
    }


ALEX, PRIYA = "alex.morgan@contoso-demo.com", "priya.shah@contoso-demo.com"


def test_changes_between_runs(connected, crm, deal, run_sync):
    """Ownership changes, closes, reopens and deletions each take effect at the next run, which
    reads only what changed."""
    run_sync(connected)
    assert _deal_saves(deal) == {(ALEX, "account"), (ALEX, "lead")}
    saved = SavedAccount.objects.get(company=deal["company"])
    assert str(saved.crm_record_id) == deal["account"]

    crm.patch_opportunity(deal["opportunity"], _ownerid_value=crm.user(PRIYA)["systemuserid"])
    run = run_sync(connected)
    assert _deal_saves(deal) == {(PRIYA, "account"), (PRIYA, "lead")}
    assert run.counts["opportunity"]["how"] == "delta read (change tracking)"
    assert run.counts["opportunity"]["read"] == 1

    crm.patch_opportunity(deal["opportunity"], statecode=1, statuscode=3)
    run_sync(connected)
    assert _deal_saves(deal) == set()

    crm.patch_opportunity(deal["opportunity"], statecode=0, statuscode=1)
    run_sync(connected)
    assert _deal_saves(deal) == {(PRIYA, "account"), (PRIYA, "lead")}

    crm.delete_row("opportunities", deal["opportunity"])
    run = run_sync(connected)
    assert _deal_saves(deal) == set()
    assert run.counts["opportunity"]["removed"] == 1
    assert not CrmOpportunity.objects.filter(crm_id=deal["opportunity"]).exists()


def test_a_stage_moving_back_before_the_gate_removes_the_saves(connected, crm, deal, run_sync):
    crm_settings = crm_settings_get(contract=connected)
    crm_settings.pipeline_stage, crm_settings.pipeline_stage_options = 2, STAGE_OPTIONS
    crm_settings.save()
    run_sync(connected)
    assert _deal_saves(deal)
    crm.patch_opportunity(deal["opportunity"], salesstage=1)
    run_sync(connected)
    assert _deal_saves(deal) == set()


def test_a_stage_change_merged_after_the_accounts_were_decided_is_honoured(
    connected, crm, run_sync, monkeypatch
):
    """GIVEN a run that decided the Accounts while it was still reading (the contacts are not in)
    WHEN the admin moves the pipeline stage before the run ends (the request merges into it)
    THEN the run decides the Accounts again at the end: its saves follow the new stage."""
    import sync.services

    decide = sync.services._Saves.accounts

    def and_then_the_admin_moves_the_stage(saves):
        decide(saves)
        assert SavedAccount.objects.filter(from_crm=True).exists()
        crm_settings = crm_settings_get(contract=connected)
        crm_settings.pipeline_stage, crm_settings.pipeline_stage_options = 3, STAGE_OPTIONS
        crm_settings.save()

    monkeypatch.setattr(sync.services._Saves, "accounts", and_then_the_admin_moves_the_stage)
    run = run_sync(connected)
    assert run.state == SyncRun.State.SUCCEEDED
    gate = [value for value, _ in demodata.SALES_STAGES][3:]
    accounts, leads = _expected_saves(crm, connected, gate=gate)
    assert _saved(SavedAccount, "company_id") == accounts
    assert _saved(SavedLead, "member_id") == leads
    assert run.counts["saves"]["accounts_removed"] > 0


def test_the_accounts_decided_again_at_the_end_cost_nothing_when_nothing_changed_meanwhile(
    connected, run_sync, monkeypatch
):
    import sync.evaluate
    import sync.services

    decided = []
    evaluate = sync.evaluate.saves_evaluate
    apply = sync.evaluate._apply

    def recording(*, kinds, **kwargs):
        decided.append(kinds)
        return evaluate(kinds=kinds, **kwargs)

    def applying(kind, **kwargs):
        decided.append(kind.saved.__name__)
        return apply(kind, **kwargs)

    monkeypatch.setattr(sync.services, "saves_evaluate", recording)
    monkeypatch.setattr(sync.evaluate, "_apply", applying)
    run_sync(connected)
    # The second decision of the Accounts finds nothing noted and no seat changed: no statement.
    assert decided == [("accounts",), "SavedAccount", ("accounts", "leads"), "SavedLead"]


def test_a_contact_unmatched_until_the_network_grows_matches_in_the_next_run(connected, run_sync):
    """GIVEN a mirrored contact that no network member matched
    WHEN the network gains that person and the next run reads no change from the CRM
    THEN that run matches the contact anyway (and says how many it matched again)."""
    run_sync(connected)
    contact = CrmContact.objects.filter(member__isnull=True).exclude(email="").first()
    member = MemberFactory(email=contact.email)
    run = run_sync(connected)
    assert run.counts["contact"]["how"] == "delta read (change tracking)"
    assert run.counts["network"]["rematched"] >= 1
    contact.refresh_from_db()
    assert (contact.member, contact.match_method) == (member, MatchMethod.EMAIL)


def test_manual_saves_survive(connected, crm, deal, run_sync):
    alex = Seat.objects.get(user__email=ALEX)
    SavedAccountFactory(seat=alex, company=deal["company"])
    run_sync(connected)
    save = SavedAccount.objects.get(seat=alex, company=deal["company"])
    assert save.saved_by_hand and save.from_crm
    crm.patch_opportunity(deal["opportunity"], statecode=2, statuscode=4)
    run_sync(connected)
    save.refresh_from_db()
    assert save.saved_by_hand and not save.from_crm
    assert not SavedLead.objects.filter(member=deal["member"]).exists()


def test_why_not_imported_for_each_rule(connected, crm, deal, run_sync):
    run_sync(connected)
    contact = CrmContact.objects.get(crm_id=deal["contact"])
    account = CrmAccount.objects.get(crm_id=deal["account"])
    alex = Seat.objects.get(user__email=ALEX)

    def rule():
        return (
            contacts_explain(contract=connected, contacts=[contact])[contact.pk].rule,
            accounts_explain(contract=connected, accounts=[account])[account.pk].rule,
        )

    assert rule() == (Rule.IMPORTED, Rule.IMPORTED)
    crm.patch_opportunity(deal["opportunity"], salesstage=0)
    crm_settings = crm_settings_get(contract=connected)
    crm_settings.pipeline_stage, crm_settings.pipeline_stage_options = 1, STAGE_OPTIONS
    crm_settings.save()
    run_sync(connected)
    assert rule() == (Rule.STAGE_BEFORE_GATE, Rule.STAGE_BEFORE_GATE)

    crm.patch_opportunity(
        deal["opportunity"],
        salesstage=3,
        _ownerid_value=crm.user("jordan.kim@contoso-demo.com")["systemuserid"],
    )
    run_sync(connected)
    assert rule() == (Rule.OWNER_NOT_MAPPED, Rule.OWNER_NOT_MAPPED)

    crm.patch_opportunity(deal["opportunity"], _ownerid_value=crm.user(ALEX)["systemuserid"])
    Seat.objects.filter(pk=alex.pk).update(crm_sync=CrmSync.OFF)
    run_sync(connected)
    assert rule() == (Rule.SEAT_SYNC_OFF, Rule.SEAT_SYNC_OFF)
    alex.refresh_from_db()
    assert seats_explain(contract=connected, seats=[alex])[alex.pk].rule == Rule.SEAT_SYNC_OFF

    Seat.objects.filter(pk=alex.pk).update(crm_sync=CrmSync.DEFAULT)
    crm.patch_row("contacts", deal["contact"], emailaddress1="someone.else@zeta.example",
                  firstname="Zed")  # fmt: skip
    run_sync(connected)
    contact.refresh_from_db()
    assert rule() == (Rule.NO_NETWORK_MATCH, Rule.IMPORTED)

    crm.patch_opportunity(deal["opportunity"], statecode=1, statuscode=3)
    run_sync(connected)
    assert rule() == (Rule.NO_OPEN_OPPORTUNITY, Rule.NO_OPEN_OPPORTUNITY)


def test_the_import_mirrors_the_orgs_currencies_and_each_opportunitys(connected, crm, run_sync):
    run_sync(connected)
    codes = dict(CrmCurrency.objects.filter(contract=connected).values_list("crm_id", "iso_code"))
    assert sorted(codes.values()) == ["EUR", "GBP", "USD"]
    won = crm.rows("opportunities", filter="statecode eq 1", top=1000)
    mirrored = CrmOpportunity.objects.filter(contract=connected, state=CrmOpportunity.State.WON)
    assert mirrored.count() == len(won)
    by_id = {str(o.crm_id): o for o in mirrored}
    for row in won:
        opportunity = by_id[row["opportunityid"]]
        assert str(opportunity.actual_close_date) == row["actualclosedate"]
        assert str(opportunity.currency_id) == row["_transactioncurrencyid_value"]
        assert float(opportunity.won_value) == row["actualvalue"]
    assert {codes[o.currency_id] for o in mirrored} == {"EUR", "GBP", "USD"}


def test_a_win_records_when_the_owner_had_the_deal_saved(connected, crm, deal, run_sync):
    """GIVEN Alex's open deal, imported as a saved Account and Lead
    WHEN it is won in the CRM
    THEN the import's saves go (the deal is no longer open), and the win keeps when they were
    saved, for won revenue's "saved in the portal before the win"; reopening forgets it."""
    run_sync(connected)
    first_saved = SavedAccount.objects.get(company=deal["company"]).saved_at

    crm.patch_opportunity(deal["opportunity"], statecode=1, statuscode=3, actualvalue=5000)
    run_sync(connected)

    assert _deal_saves(deal) == set()
    won = CrmOpportunity.objects.get(crm_id=deal["opportunity"])
    assert (won.won_saves_checked, won.first_saved_at) == (True, first_saved)
    assert won.won_value == 5000 and won.actual_close_date is not None
    assert CrmCurrency.objects.get(contract=connected, crm_id=won.currency_id).iso_code == "USD"

    run_sync(connected)
    won.refresh_from_db()
    assert won.first_saved_at == first_saved, "looked at once, not again"

    crm.patch_opportunity(deal["opportunity"], statecode=0, statuscode=1)
    run_sync(connected)
    won.refresh_from_db()
    assert (won.won_saves_checked, won.first_saved_at) == (False, None)


def test_a_win_nobody_had_saved_records_none(connected, crm, run_sync):
    run_sync(connected)
    wins = CrmOpportunity.objects.filter(contract=connected, state=CrmOpportunity.State.WON)
    assert wins.exists() and all(o.won_saves_checked for o in wins)
    assert {o.first_saved_at for o in wins} == {None}, "the demo's wins were never open here"


def test_an_incremental_run_reads_only_the_changes(connected, crm, run_sync):
    run_sync(connected)
    changed = [row["opportunityid"] for row in crm.rows("opportunities", top=7)]
    for opportunity_id in changed:
        crm.patch_opportunity(opportunity_id, name=f"Renamed {opportunity_id[:8]}")
    run = run_sync(connected)
    assert run.counts["opportunity"] | {"how": ""} == {
        "read": 7, "created": 0, "updated": 7, "removed": 0, "unmatched": 0, "failed": 0,
        "problems": 0, "how": "",
    }  # fmt: skip
    assert all(run.counts[table]["read"] == 0 for table in TABLES if table != "opportunity")
    assert run.requests == len(TABLES)


def test_a_run_with_no_change_makes_one_request_per_table(connected, crm, run_sync):
    run_sync(connected)
    crm.reset_stats()
    run = run_sync(connected)
    assert run.requests == len(TABLES)
    assert crm.stats()["by_kind"]["api"] == len(TABLES)
    assert all(run.counts[table]["read"] == 0 for table in TABLES)
    assert set(run.counts["saves"].values()) == {0}


def test_an_expired_delta_token_means_a_reconciled_full_read(connected, crm, deal, run_sync):
    run_sync(connected)
    crm.delete_row("opportunities", deal["opportunity"])
    crm.delete_row("contacts", deal["contact"])
    crm.set_faults(expire_delta_tokens=True)
    run = run_sync(connected)
    assert run.state == SyncRun.State.SUCCEEDED, run.error_detail
    for table in TABLES:
        assert run.counts[table]["how"] == "full read, reconciled (the delta token had expired)"
    assert run.counts["opportunity"]["removed"] == run.counts["contact"]["removed"] == 1
    assert not CrmContact.objects.filter(crm_id=deal["contact"]).exists()
    assert _deal_saves(deal) == set()
    assert run_sync(connected).counts["opportunity"]["how"] == "delta read (change tracking)"


def test_a_table_without_change_tracking_is_read_by_modified_date(connected, crm, run_sync):
    crm.set_change_tracking("contact", False)
    run = run_sync(connected)
    assert run.counts["contact"]["how"] == "full read (change tracking is off for this table)"
    cursor = SyncCursor.objects.get(contract=connected, table="contact")
    assert cursor.mode == SyncCursor.Mode.WATERMARK and cursor.watermark
    contact = crm.rows("contacts", top=1)[0]
    crm.patch_row("contacts", contact["contactid"], jobtitle="Chief Testing Officer")
    run = run_sync(connected)
    assert run.counts["contact"]["how"] == "watermark read (modified since)"
    assert 1 <= run.counts["contact"]["read"] < 5
    assert CrmContact.objects.get(crm_id=contact["contactid"]).job_title == "Chief Testing Officer"


def test_the_won_value_comes_from_the_chosen_column(connected, crm, run_sync):
    run_sync(connected)
    crm_settings = crm_settings_get(contract=connected)
    crm_settings.won_value_column = "new_wonamount"
    crm_settings.save()
    run = run_sync(connected)
    assert run.counts["opportunity"]["how"] == "full read, reconciled (the columns changed)"
    won = {row["opportunityid"]: row["new_wonamount"] for row in crm.rows("opportunities",
           filter="statecode eq 1", top=1000)}  # fmt: skip
    stored = dict(
        CrmOpportunity.objects.filter(state=CrmOpportunity.State.WON).values_list(
            "crm_id", "won_value"
        )
    )
    assert won and {str(k): float(v) for k, v in stored.items()} == pytest.approx(won)
    assert not CrmOpportunity.objects.filter(~Q(state=1), won_value__isnull=False).exists()


def test_bad_crm_data_becomes_problems_and_the_run_carries_on(connected, crm, run_sync):
    crm.create_row("accounts", name=None, websiteurl="https://nameless.example")
    broken = crm.create_row("accounts", name="Broken Site", websiteurl="http://[broken.example/")
    orphan = crm.create_row("contacts", firstname="Otto", lastname="Orphan")
    crm.create_opportunity(name="Team deal", _ownerid_value=str(uuid.uuid4()))
    crm.create_opportunity(name="Odd state", statecode=7, statuscode=1)
    crm.create_opportunity(name="Odd stage", salesstage="two")
    run = run_sync(connected)
    assert run.state == SyncRun.State.SUCCEEDED
    reasons = set(run.problems.values_list("reason", flat=True))
    assert "Account has no name; it can only match a company by website." in reasons
    assert (
        "Contact Otto Orphan has no account (Company Name), so it can only match a network "
        "member by email or profile URL." in reasons
    )
    assert any(r.startswith("Opportunity Team deal is owned by") for r in reasons)
    assert any(r.startswith("Opportunity Odd state: statecode 7 is not Open") for r in reasons)
    assert any(
        r.startswith("Opportunity Odd stage: column salesstage holds 'two'") for r in reasons
    )
    assert CrmContact.objects.filter(crm_id=orphan["contactid"]).exists()
    assert run.problems.filter(crm_id=orphan["contactid"]).exists()
    # A website that is no URL gives no domain to match by; the account is kept.
    assert CrmAccount.objects.get(crm_id=broken["accountid"]).domain == ""


def test_a_crm_failure_fails_the_run_and_the_next_one_goes_on(connected, crm, run_sync):
    """GIVEN the connecting user may not read opportunities (Dynamics answers 403)
    THEN the run fails with the kind CRM Settings turns into the guide's message, after the
    tables it could read; once the privilege is back the next run reads only what is left."""
    crm.set_faults(deny={"integration@contoso-demo.com": ["opportunity"]})
    run = run_sync(connected)
    assert run.state == SyncRun.State.FAILED
    assert run.error_kind == "privilege" and "403" in run.error_detail
    assert "opportunity" not in run.counts and run.counts["contact"]["read"] == 400
    connected.crm_connection.refresh_from_db()
    assert connected.crm_connection.last_error_kind == "privilege"
    crm.reset_faults()
    run = run_sync(connected)
    assert run.state == SyncRun.State.SUCCEEDED
    assert run.counts["contact"]["how"] == "delta read (change tracking)"
    assert run.counts["opportunity"]["how"] == "full read (first import)"


class _Breaking:
    """The real client, losing its connection after ``pages`` contact pages."""

    def __init__(self, client, pages: int):
        self._client, self._pages = client, pages

    def __getattr__(self, name):
        return getattr(self._client, name)

    def iter_changes(self, entity_set, **options):
        for number, page in enumerate(self._client.iter_changes(entity_set, **options)):
            if entity_set == "contacts" and number == self._pages:
                raise ConnectError("connection dropped")
            yield page


def test_a_run_that_stopped_half_way_resumes_to_the_same_end(connected, crm, run_sync, settings):
    """GIVEN pages of 50 rows and a connection lost after two contact pages
    WHEN the next run comes
    THEN it goes on from the third page and ends as an uninterrupted import would."""
    from crm_settings.crm import open_client

    settings.DYNAMICS_PAGE_SIZE = 50
    with open_client(connected.crm_connection) as client:
        failed = run_sync(connected, client=_Breaking(client, pages=2))
    assert failed.state == SyncRun.State.FAILED and failed.error_kind == "connect"
    assert failed.counts["contact"]["read"] == 100
    resumed = run_sync(connected)
    assert resumed.counts["contact"]["how"] == "full read, resumed from its last page"
    assert resumed.counts["contact"]["read"] == 300
    assert CrmContact.objects.filter(contract=connected).count() == 400
    accounts, leads = _expected_saves(crm, connected)
    assert _saved(SavedAccount, "company_id") == accounts
    assert _saved(SavedLead, "member_id") == leads


def test_a_trigger_during_a_run_is_merged_into_it(connected, run_sync, monkeypatch):
    """GIVEN a run writing its contact pages WHEN *Sync now* comes meanwhile THEN it joins the
    run: one sync, no second one queued behind it."""
    from sync import reading

    answers, write = [], reading.mirror_page_write

    def write_and_trigger(*, table, **options):
        if table.logical_name == "contact":
            answers.append(sync_run(connected.pk, SyncRun.Trigger.MANUAL))
        return write(table=table, **options)

    monkeypatch.setattr(reading, "mirror_page_write", write_and_trigger)
    run = run_sync(connected)
    assert answers == [f"merged into run {run.pk}"]
    assert SyncRun.objects.filter(contract=connected).count() == 1
    assert not run.rerun_requested


def test_every_network_row_is_loaded_once(connected):
    assert Member.objects.count() == len(set(Member.objects.values_list("profile_url", flat=True)))
    assert Company.objects.exists()
