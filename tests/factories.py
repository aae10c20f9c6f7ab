"""factory-boy factories for the whole suite (one module, as STYLE.md asks)."""

import uuid

import factory
from factory.django import DjangoModelFactory

from network.models import Company, Member, SavedAccount, SavedLead
from seats.models import Contract, Role, Seat, User

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


class CrmConnectionFactory(DjangoModelFactory):
    class Meta:
        model = "crm_settings.CrmConnection"

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
