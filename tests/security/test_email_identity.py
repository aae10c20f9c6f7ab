"""High finding of the security review: a seat holder borrowing another CRM user's identity.

As reproduced on main: ``/accounts/email/`` let a seat holder add any address and make it primary
without verification; after *Refresh from CRM* their seat mapped to that CRM user (the
Integration User, say) and their copies were written to Dynamics as that user. Making an address
primary that another person uses gave a 500 and left it marked primary.

The rule now (README, "Security model"): emails are managed by the contract admin. The page
shows the address and who can change it; nothing posted to it changes anything.
"""

import importlib

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps
from django.urls import reverse

from sync.models import SeatCrmUser
from sync.users import seat_mappings_refresh
from tests.factories import CrmUserFactory

pytestmark = pytest.mark.django_db

EMAIL_PAGE = reverse("account_email")
INTEGRATION = "integration@contoso.test"


@pytest.fixture
def crm_users(contract, seat_holder):
    own = CrmUserFactory(contract=contract, full_name="Rita Rep", email=seat_holder.user.email)
    integration = CrmUserFactory(contract=contract, full_name="Integration", email=INTEGRATION)
    seat_mappings_refresh(contract=contract)
    return own, integration


@pytest.mark.parametrize(
    "action",
    [
        {"action_add": "", "email": INTEGRATION},
        {"action_primary": "", "email": INTEGRATION},
        {"action_remove": "", "email": "rep@contoso.test"},
        {"action_send": "", "email": INTEGRATION},
    ],
    ids=["add", "make-primary", "remove", "send-verification"],
)
def test_a_seat_holder_cannot_take_another_crm_users_email(
    login, contract, seat_holder, crm_users, action
):
    own, _ = crm_users
    client = login(seat_holder)

    response = client.post(EMAIL_PAGE, action)

    assert response.status_code == 403
    assert (
        "Email addresses cannot be changed here. Nothing was changed." in response.content.decode()
    )
    seat_holder.user.refresh_from_db()
    assert seat_holder.user.email == "rep@contoso.test"
    assert not EmailAddress.objects.filter(email__iexact=INTEGRATION).exists()
    # The next *Refresh from CRM* still maps the seat to its own CRM user.
    seat_mappings_refresh(contract=contract)
    assert SeatCrmUser.objects.get(seat=seat_holder).crm_user == own


def test_making_a_colliding_address_primary_is_a_clear_refusal(login, seat_holder, admin):
    """The 500 of the review: another person's address made primary."""
    response = login(seat_holder).post(
        EMAIL_PAGE, {"action_primary": "", "email": admin.user.email}
    )

    assert response.status_code == 403
    assert (
        not EmailAddress.objects.filter(user=seat_holder.user, primary=True)
        .exclude(email=seat_holder.user.email)
        .exists()
    )


def test_the_page_says_who_manages_the_address(login, seat_holder):
    page = login(seat_holder).get(EMAIL_PAGE).content.decode()

    assert "You sign in with <strong>rep@contoso.test</strong>." in page
    assert "ask your admin to edit your seat on Seat Management" in page
    assert "action_add" not in page


def test_addresses_added_before_the_fix_are_removed(seat_holder, admin):
    """The data migration: only each account's own email stays an allauth address."""
    EmailAddress.objects.create(user=seat_holder.user, email=seat_holder.user.email, primary=True)
    EmailAddress.objects.create(user=seat_holder.user, email=INTEGRATION)
    EmailAddress.objects.create(user=admin.user, email=admin.user.email.upper())
    migration = importlib.import_module("seats.migrations.0002_one_email_address_per_person")

    migration.remove_self_added_addresses(apps, schema_editor=None)

    assert sorted(EmailAddress.objects.values_list("email", flat=True)) == [
        admin.user.email.upper(), seat_holder.user.email,
    ]  # fmt: skip
