"""factory-boy factories for the whole suite (one module, as STYLE.md asks)."""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from factory.django import DjangoModelFactory

from crm_settings.models import ApiUsage, CrmConnection, CrmSettings
from inbox.models import Message, Note, Thread
from network.models import Company, Member, SavedAccount, SavedLead
from seats.models import Contract, CrmSync, Role, Seat, User
from sync.models import CrmUser, SeatCrmUser, SyncProblem, SyncRun
from writeback.models import OutboxEntry, OutboxState, activity_id_derive

PASSWORD = "test-password"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["email"]
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save(update_fields=["password"])


class ContractFactory(DjangoModelFactory):
    class Meta:
        model = Contract

    name = factory.Sequence(lambda n: f"Contract {n}")
    purchased_seats = 25


class SeatFactory(DjangoModelFactory):
    class Meta:
        model = Seat

    contract = factory.SubFactory(ContractFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.SEAT_HOLDER

    class Params:
        admin = factory.Trait(role=Role.ADMIN)
        admin_only = factory.Trait(role=Role.ADMIN_ONLY)


class CompanyFactory(DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}")
    domain = factory.Sequence(lambda n: f"company{n}.example")


class MemberFactory(DjangoModelFactory):
    class Meta:
        model = Member

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    headline = "Head of Sales"
    company = factory.SubFactory(CompanyFactory)
    company_name = factory.SelfAttribute("company.name")
    email = factory.Sequence(lambda n: f"member{n}@company.example")
    profile_url = factory.Sequence(lambda n: f"https://www.linkedin.com/in/member-{n}")


class SavedAccountFactory(DjangoModelFactory):
    class Meta:
        model = SavedAccount

    seat = factory.SubFactory(SeatFactory)
    company = factory.SubFactory(CompanyFactory)
    saved_by_hand = True

    class Params:
        imported = factory.Trait(saved_by_hand=False, from_crm=True)


class SavedLeadFactory(DjangoModelFactory):
    class Meta:
        model = SavedLead

    seat = factory.SubFactory(SeatFactory)
    member = factory.SubFactory(MemberFactory)
    saved_by_hand = True

    class Params:
        imported = factory.Trait(saved_by_hand=False, from_crm=True)


# --- CRM side (crm_settings, sync) --------------------------------------------------------------


class CrmSettingsFactory(DjangoModelFactory):
    class Meta:
        model = CrmSettings

    contract = factory.SubFactory(ContractFactory)

    class Params:
        # "Sync back all data items (recommended)".
        writeback = factory.Trait(writeback_enabled=True, writeback_all=True)


class CrmConnectionFactory(DjangoModelFactory):
    class Meta:
        model = CrmConnection

    contract = factory.SubFactory(ContractFactory)
    environment_url = "https://contoso.crm.dynamics.com"
    crm_user_id = factory.Faker("uuid4")
    crm_user_name = "Integration User"
    crm_user_email = "integration@contoso-demo.com"
    linkedin_solution_installed = True


class CrmUserFactory(DjangoModelFactory):
    class Meta:
        model = "sync.CrmUser"

    contract = factory.SubFactory(ContractFactory)
    crm_id = factory.LazyFunction(uuid.uuid4)
    full_name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"crm-user{n}@contoso.test")
    domain_name = factory.SelfAttribute("email")


class CrmAccountFactory(DjangoModelFactory):
    class Meta:
        model = "sync.CrmAccount"

    contract = factory.SubFactory(ContractFactory)
    crm_id = factory.LazyFunction(uuid.uuid4)
    name = factory.Sequence(lambda n: f"CRM Account {n}")


class CrmContactFactory(DjangoModelFactory):
    class Meta:
        model = "sync.CrmContact"

    contract = factory.SubFactory(ContractFactory)
    crm_id = factory.LazyFunction(uuid.uuid4)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    full_name = factory.LazyAttribute(lambda o: f"{o.first_name} {o.last_name}")


class CrmOpportunityFactory(DjangoModelFactory):
    class Meta:
        model = "sync.CrmOpportunity"

    contract = factory.SubFactory(ContractFactory)
    crm_id = factory.LazyFunction(uuid.uuid4)
    name = factory.Sequence(lambda n: f"Opportunity {n}")


class SyncRunFactory(DjangoModelFactory):
    class Meta:
        model = "sync.SyncRun"

    contract = factory.SubFactory(ContractFactory)
    trigger = "manual"
    state = "succeeded"


# --- Writeback ----------------------------------------------------------------------------------


class ThreadFactory(DjangoModelFactory):
    class Meta:
        model = Thread

    seat = factory.SubFactory(SeatFactory)
    member = factory.SubFactory(MemberFactory)
    kind = Thread.Kind.MESSAGE

    class Params:
        inmail = factory.Trait(kind=Thread.Kind.INMAIL, subject="Quick question")


class MessageFactory(DjangoModelFactory):
    class Meta:
        model = Message

    thread = factory.SubFactory(ThreadFactory)
    direction = Message.Direction.SENT
    body = factory.Sequence(lambda n: f"Message number {n}")

    class Params:
        received = factory.Trait(direction=Message.Direction.RECEIVED)


class NoteFactory(DjangoModelFactory):
    class Meta:
        model = Note

    seat = factory.SubFactory(SeatFactory)
    member = factory.SubFactory(MemberFactory)
    body = factory.Sequence(lambda n: f"Note number {n}")

    class Params:
        on_account = factory.Trait(member=None, company=factory.SubFactory(CompanyFactory))


class OutboxEntryFactory(DjangoModelFactory):
    """An outbox entry for a ticked message (or note), made directly; services make real ones."""

    class Meta:
        model = OutboxEntry

    message = factory.SubFactory(MessageFactory, copy_to_crm=True)
    note = None
    seat = factory.LazyAttribute(lambda o: o.message.thread.seat if o.message else o.note.seat)
    contract = factory.SelfAttribute("seat.contract")
    item_type = factory.LazyAttribute(lambda o: o.message.thread.kind if o.message else "note")
    activity_id = factory.LazyAttribute(
        lambda o: activity_id_derive(
            contract_id=o.contract.pk, item_type=o.item_type, item_id=(o.message or o.note).pk
        )
    )

    class Params:
        on_note = factory.Trait(
            message=None, note=factory.SubFactory(NoteFactory, copy_to_crm=True)
        )
        failed = factory.Trait(
            state=OutboxState.FAILED,
            attempts=8,
            maybe_in_crm=True,
            last_error_kind="privilege",
            last_error_detail="The user does not hold the necessary privileges. [HTTP 403]",
        )
        sent = factory.Trait(
            state=OutboxState.SENT,
            attempts=1,
            maybe_in_crm=True,
            crm_entity_set="li_messages",
            crm_url="https://contoso.crm.dynamics.com/main.aspx?pagetype=entityrecord",
            written_open=False,
        )


# --- Alerts -------------------------------------------------------------------------------------


class IncidentFactory(DjangoModelFactory):
    """An open incident, as the minute's check opens them (``alerts.services``)."""

    class Meta:
        model = "alerts.Incident"

    contract = factory.SubFactory(ContractFactory)
    kind = "sync_failed"
    title = "The sync with your CRM failed"
    message = "The CRM API reported an error. Please try again later."
    next_step = "Error with your API access, check with CRM system's uptime."
    fix_path = "/admin-settings/crm/"
    fix_label = "CRM Settings"
    opened_at = factory.LazyFunction(timezone.now)


# --- Many seats at once ---------------------------------------------------------------------------


def _bulk_crm_sync(n: int) -> str:
    if n % 7 == 0:
        return CrmSync.OFF
    return CrmSync.ON if n % 11 == 0 else CrmSync.DEFAULT


def seats_bulk_create(contract: Contract, count: int, *, start: int = 0) -> list[Seat]:
    """``count`` Seat holder seats on ``contract`` in a handful of queries, for size tests.

    Every other seat maps to a CRM user of the contract, every third is *Not Matched* with a
    reason, the rest were never checked; every seventh had CRM sync disabled and every eleventh
    enabled by an admin; every fifth has imported Accounts and Leads plus one saved by hand.
    Emails are ``holder<n>@<contract id>.test`` with n counting from ``start``; the password is
    ``PASSWORD``.
    """
    password = make_password(PASSWORD)
    users = User.objects.bulk_create(
        User(
            email=f"holder{n}@{contract.pk}.test",
            first_name=f"Holder{n:05d}",
            last_name="Bulk",
            password=password,
        )
        for n in range(start, start + count)
    )
    seats = Seat.objects.bulk_create(
        Seat(contract=contract, user=user, crm_sync=_bulk_crm_sync(n))
        for n, user in enumerate(users, start=start)
    )
    mapped = [seat for n, seat in enumerate(seats) if n % 2 == 0]
    crm_users = CrmUser.objects.bulk_create(
        CrmUser(
            contract=contract,
            crm_id=uuid.uuid4(),
            full_name=f"{seat.user.first_name} Bulk",
            email=seat.user.email,
            domain_name=seat.user.email,
        )
        for seat in mapped
    )
    links = [
        SeatCrmUser(seat=seat, crm_user=crm_user)
        for seat, crm_user in zip(mapped, crm_users, strict=True)
    ]
    links += [
        SeatCrmUser(seat=seat, reason=f"No CRM user has the email {seat.user.email}.")
        for n, seat in enumerate(seats)
        if n % 2 and n % 3 == 0
    ]
    SeatCrmUser.objects.bulk_create(links)
    companies = CompanyFactory.create_batch(3)
    member = MemberFactory()
    now = timezone.now()
    importing = [seat for n, seat in enumerate(seats) if n % 5 == 0]
    SavedAccount.objects.bulk_create(
        SavedAccount(
            seat=seat,
            company=company,
            from_crm=index < 2,
            saved_by_hand=index == 2,
            imported_at=now if index < 2 else None,
        )
        for seat in importing
        for index, company in enumerate(companies)
    )
    SavedLead.objects.bulk_create(
        SavedLead(seat=seat, member=member, from_crm=True, imported_at=now) for seat in importing
    )
    return seats


def copied_messages_bulk_create(
    *, seat: Seat, members: list[Member], count: int
) -> list[OutboxEntry]:
    """``count`` sent messages ticked for the CRM, spread over ``seat``'s conversations with
    ``members``, with their queued outbox entries: in a handful of queries, for size tests and the
    writeback benchmark (services write one item at a time)."""
    threads = Thread.objects.bulk_create(
        Thread(seat=seat, member=member, kind=Thread.Kind.MESSAGE, copy_to_crm=True)
        for member in members
    )
    messages = Message.objects.bulk_create(
        (
            Message(
                thread=threads[n % len(threads)],
                direction=Message.Direction.SENT,
                body=f"Bulk message {n}",
                copy_to_crm=True,
            )
            for n in range(count)
        ),
        batch_size=1000,
    )
    return OutboxEntry.objects.bulk_create(
        (
            OutboxEntry(
                contract_id=seat.contract_id,
                seat=seat,
                item_type=Thread.Kind.MESSAGE,
                message=message,
                activity_id=activity_id_derive(
                    contract_id=seat.contract_id, item_type=Thread.Kind.MESSAGE, item_id=message.pk
                ),
            )
            for message in messages
        ),
        batch_size=1000,
    )


# --- A month of history, for the CRM Sync overview ------------------------------------------------


@dataclass
class History:
    """The days (in the current time zone) ``overview_history_create`` put data on, per chart."""

    run_days: list[date] = field(default_factory=list)
    failed_run_days: list[date] = field(default_factory=list)
    usage_days: list[date] = field(default_factory=list)
    match_days: list[date] = field(default_factory=list)
    copy_days: list[date] = field(default_factory=list)
    runs: int = 0
    copies: int = 0


def overview_history_create(
    contract: Contract, *, seat: Seat, days: int = 30, scale: int = 1
) -> History:
    """Sync runs, API usage and copies to the CRM on most of the last ``days`` days (at noon in
    the current time zone), in a handful of queries per day; ``scale`` multiplies every count.

    Every fourth day has nothing at all; every fifth day's last run failed, with problems (not
    today's); the match rate climbs day by day. Copies are ``seat``'s messages: sent, open or
    failed in turn.
    """
    history = History()
    today = timezone.localdate()
    active = [back for back in range(days - 1, -1, -1) if back % 4 != 3]  # others are quiet
    per_day = 3 * scale
    copies = copied_messages_bulk_create(
        seat=seat, members=MemberFactory.create_batch(2), count=per_day * len(active)
    )
    for position, back in enumerate(active):
        day = today - timedelta(days=back)
        noon = timezone.make_aware(datetime.combine(day, time(12)))
        failing = back % 5 == 2
        for n in range(scale):
            succeeded = not (failing and n == scale - 1)
            run = SyncRun.objects.create(
                contract=contract,
                trigger=SyncRun.Trigger.SCHEDULE,
                state=SyncRun.State.SUCCEEDED if succeeded else SyncRun.State.FAILED,
                counts={"contact": {"read": 40, "created": 3, "updated": 2 + back, "removed": 1}},
                requests=12,
                accounts_total=200 if succeeded else None,
                accounts_matched=100 + days - back if succeeded else None,
                contacts_total=800 if succeeded else None,
                contacts_matched=300 + 4 * (days - back) if succeeded else None,
            )
            at = noon + timedelta(minutes=15 * n)
            SyncRun.objects.filter(pk=run.pk).update(
                created_at=at, started_at=at, finished_at=at + timedelta(minutes=1)
            )
            if not succeeded:
                SyncProblem.objects.bulk_create(
                    SyncProblem(run=run, table="contact", reason="The email is not valid.")
                    for _ in range(2)
                )
            history.runs += 1
        history.run_days.append(day)
        if failing:
            history.failed_run_days.append(day)
        if not failing or scale > 1:
            history.match_days.append(day)
        ApiUsage.objects.create(
            contract=contract,
            hour=noon.replace(minute=0),
            requests_sent=40 * scale + 10 * back,
            lowest_requests_remaining=5999 - 300 * (back % 7),
            requests_limit=6000,
            waits=1 if failing else 0,
        )
        history.usage_days.append(day)
        entries = copies[position * per_day : (position + 1) * per_day]
        for index, entry in enumerate(entries):
            kind = index % 3
            fields = {"updated_at": noon}
            if kind == 2:
                fields |= {"state": OutboxState.FAILED, "last_error_kind": "api",
                           "last_error_at": noon}  # fmt: skip
            else:
                fields |= {"state": OutboxState.SENT, "sent_at": noon, "written_open": kind == 1}
            OutboxEntry.objects.filter(pk=entry.pk).update(**fields)
        history.copies += len(entries)
        history.copy_days.append(day)
    return history
