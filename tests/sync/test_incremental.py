"""The incremental saves decision equals a full one, whatever changed (``sync.evaluate``,
``sync.pending``).

A seeded random walk over the demo org: each round makes random changes in the emulator
(opportunities' owners, states, stages, accounts and contacts, created and deleted ones;
contacts' emails and accounts; accounts' websites and names; deletions) and to the seats and
settings in the portal (*Disable* / *Enable CRM Sync*, the gate, the auto-sync answer), runs an
incremental import, and then a full decision, which must find nothing to change.
"""

import random

import pytest

import demodata
from crm_settings.selectors import crm_settings_get
from network.models import Company, Member, SavedAccount, SavedLead
from seats.models import CrmSync, Seat
from sync.evaluate import saves_evaluate
from sync.models import SavesPending
from sync.seat_services import seats_sync_disable, seats_sync_enable
from tests.factories import SavedAccountFactory, SavedLeadFactory

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]
STAGE_OPTIONS = [{"value": value, "label": label} for value, label in demodata.SALES_STAGES]


def _snapshot(contract):
    """Every save of the contract's seats, with its marks and CRM record."""
    fields = ("seat_id", "saved_by_hand", "from_crm", "crm_record_id")
    return (
        set(
            SavedAccount.objects.filter(seat__contract=contract).values_list("company_id", *fields)
        ),
        set(SavedLead.objects.filter(seat__contract=contract).values_list("member_id", *fields)),
    )


class _Walk:
    """Random changes to the emulator's org and to the contract's seats and settings."""

    def __init__(self, crm, contract, rng: random.Random):
        self.crm, self.contract, self.rng = crm, contract, rng
        self.users = [user["systemuserid"] for user in crm.users() if not user["isdisabled"]]
        self.emails = list(Member.objects.exclude(email="").values_list("email", flat=True)[:300])
        self.domains = list(
            Company.objects.exclude(domain="").values_list("domain", flat=True)[:300]
        )

    def _ids(self, entity_set, key):
        return [row[key] for row in self.crm.rows(entity_set, top=100_000)]

    def change(self, count: int) -> None:
        opportunities = self._ids("opportunities", "opportunityid")
        accounts = self._ids("accounts", "accountid")
        contacts = self._ids("contacts", "contactid")
        for _ in range(count):
            getattr(self, self.rng.choice(self.MOVES))(opportunities, accounts, contacts)

    MOVES = (
        "opportunity_owner", "opportunity_state", "opportunity_stage", "opportunity_links",
        "opportunity_new", "opportunity_gone", "contact_email", "contact_account", "contact_gone",
        "account_website", "account_gone", "seat_sync", "settings",
    )  # fmt: skip

    def opportunity_owner(self, opportunities, accounts, contacts):
        self.crm.patch_opportunity(
            self.rng.choice(opportunities), _ownerid_value=self.rng.choice(self.users)
        )

    def opportunity_state(self, opportunities, accounts, contacts):
        state = self.rng.choice([0, 0, 1, 2])
        self.crm.patch_opportunity(
            self.rng.choice(opportunities), statecode=state, statuscode=[1, 3, 4][state]
        )

    def opportunity_stage(self, opportunities, accounts, contacts):
        stage = self.rng.choice(STAGE_OPTIONS)["value"]
        self.crm.patch_opportunity(self.rng.choice(opportunities), salesstage=stage)

    def opportunity_links(self, opportunities, accounts, contacts):
        customer = self.rng.choice([self.rng.choice(accounts), self.rng.choice(contacts)])
        self.crm.patch_opportunity(
            self.rng.choice(opportunities),
            _parentaccountid_value=self.rng.choice([*accounts[:50], None]),
            _parentcontactid_value=self.rng.choice([*contacts[:50], None]),
            _customerid_value=customer,
        )

    def opportunity_new(self, opportunities, accounts, contacts):
        created = self.crm.create_opportunity(
            name=f"Walk {self.rng.random():.6f}",
            _ownerid_value=self.rng.choice(self.users),
            _parentaccountid_value=self.rng.choice(accounts),
            _parentcontactid_value=self.rng.choice(contacts),
            salesstage=self.rng.choice(STAGE_OPTIONS)["value"],
        )
        opportunities.append(created["opportunityid"])

    def opportunity_gone(self, opportunities, accounts, contacts):
        self.crm.delete_row(
            "opportunities", opportunities.pop(self.rng.randrange(len(opportunities)))
        )

    def contact_email(self, opportunities, accounts, contacts):
        email = self.rng.choice([*self.emails, "nobody@example.invalid"])
        self.crm.patch_row("contacts", self.rng.choice(contacts), emailaddress1=email)

    def contact_account(self, opportunities, accounts, contacts):
        self.crm.patch_row(
            "contacts", self.rng.choice(contacts), _parentcustomerid_value=self.rng.choice(accounts)
        )

    def contact_gone(self, opportunities, accounts, contacts):
        self.crm.delete_row("contacts", contacts.pop(self.rng.randrange(len(contacts))))

    def account_website(self, opportunities, accounts, contacts):
        domain = self.rng.choice([*self.domains, "nowhere.invalid"])
        self.crm.patch_row("accounts", self.rng.choice(accounts), websiteurl=f"https://{domain}")

    def account_gone(self, opportunities, accounts, contacts):
        self.crm.delete_row("accounts", accounts.pop(self.rng.randrange(len(accounts))))

    def seat_sync(self, opportunities, accounts, contacts):
        seats = Seat.objects.filter(contract=self.contract, pk=self.rng.choice(self._seat_ids()))
        if self.rng.random() < 0.5:
            seats_sync_disable(contract=self.contract, seats=seats, by=None)
        elif self.rng.random() < 0.5:
            seats_sync_enable(contract=self.contract, seats=seats, by=None)
        else:
            seats.update(crm_sync=CrmSync.DEFAULT)

    def _seat_ids(self):
        return list(Seat.objects.filter(contract=self.contract).values_list("pk", flat=True))

    def settings(self, opportunities, accounts, contacts):
        crm_settings = crm_settings_get(contract=self.contract)
        if self.rng.random() < 0.5:
            crm_settings.auto_sync = not crm_settings.auto_sync
        else:
            crm_settings.pipeline_stage = self.rng.choice(
                [None, *[o["value"] for o in STAGE_OPTIONS]]
            )
            crm_settings.pipeline_stage_options = STAGE_OPTIONS
        crm_settings.save()


def _hand_made_saves(contract, rng):
    """A few saves the seat holders made by hand, some of which the import also makes."""
    seats = list(Seat.objects.filter(contract=contract))
    for company in rng.sample(list(Company.objects.all()[:200]), 15):
        SavedAccountFactory(seat=rng.choice(seats), company=company, saved_by_hand=True)
    for member in rng.sample(list(Member.objects.all()[:400]), 15):
        SavedLeadFactory(seat=rng.choice(seats), member=member, saved_by_hand=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_incremental_decision_equals_a_full_one_after_random_changes(
    connected, crm, run_sync, seed
):
    rng = random.Random(seed)
    _hand_made_saves(connected, rng)
    run_sync(connected)
    walk = _Walk(crm, connected, rng)
    for _ in range(4):
        walk.change(rng.randint(3, 12))
        run = run_sync(connected)
        assert run.state == "succeeded", run.error_detail
        incremental = _snapshot(connected)
        crm_settings = crm_settings_get(contract=connected)
        counts = saves_evaluate(contract=connected, crm_settings=crm_settings, full=True)
        assert set(counts.values()) == {0}, counts
        assert _snapshot(connected) == incremental
        assert not SavesPending.objects.filter(contract_id=connected.pk).exists()


def test_a_run_with_nothing_changed_decides_nothing(connected, run_sync, monkeypatch):
    """GIVEN an imported contract WHEN a run reads no change THEN no save is decided again: the
    decisions only take the (no) notes and record what they saw."""
    import sync.evaluate

    run_sync(connected)
    applied = []
    monkeypatch.setattr(sync.evaluate, "_apply", lambda kind, **kwargs: applied.append(kind))
    run = run_sync(connected)
    assert applied == []
    assert all(value == 0 for value in run.counts["saves"].values())
    assert not SavesPending.objects.filter(contract_id=connected.pk).exists()
