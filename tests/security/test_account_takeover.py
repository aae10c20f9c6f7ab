"""Critical finding of the security review: a contract admin taking over an account that is not
the contract's (the operator's staff superuser above all).

The attack as reproduced on main: the contract's CRM has a user whose email is the staff user's;
the admin runs *Refresh from CRM*, then *Assign seats from CRM* for that CRM user, and the seat was
created for the existing staff user; the admin then edited that seat's email to an address they
own, and a password reset to it gave them the staff account and ``/admin/``.

The rule now (README, "Security model"): a seat is only ever created together with a new
account; an address that already belongs to an account is refused for that row and the others
still go in; and an admin never changes the details of the operator's accounts.
"""

import uuid

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from seats.models import Seat, User
from seats.services import ACCOUNT_NOT_THE_CONTRACTS, ALREADY_HOLDS_A_SEAT, seats_create
from sync.models import CrmUser
from tests.factories import ContractFactory, CrmConnectionFactory, CrmUserFactory, SeatFactory

pytestmark = pytest.mark.django_db

ASSIGN = reverse("seats:assign_create")
REFRESH = reverse("seats:crm_users_refresh")
PAGE = reverse("seats:assign")
STAFF_EMAIL = "ops@crm-sync.test"
ATTACKER_EMAIL = "attacker@evil.test"


@pytest.fixture
def staff_user(db):
    return User.objects.create_superuser(STAFF_EMAIL, "staff-password-2026")


def _assign(client, *emails):
    ids = list(CrmUser.objects.filter(email__in=emails).values_list("pk", flat=True))
    return client.post(ASSIGN, {"crm_user": ids, "next": PAGE}, follow=True)


@pytest.mark.emulator
def test_assign_from_crm_never_seats_the_staff_user(
    login, admin, staff_user, crm_contract, dynamics, django_capture_on_commit_callbacks
):
    """GIVEN a CRM user with the staff user's email, and one with a new address
    WHEN the admin refreshes from CRM and assigns seats to both
    THEN the new person gets a seat, the staff account none, and the page says why."""
    newcomer = f"newcomer-{uuid.uuid4().hex[:8]}@contoso-demo.com"
    rows = [
        dynamics.create_row(
            "systemusers", fullname=name, internalemailaddress=email, domainname=email
        )
        for name, email in [("Stella Ops", STAFF_EMAIL), ("Nia Newcomer", newcomer)]
    ]
    try:
        client = login(admin)
        assert client.post(REFRESH, {"next": PAGE}).status_code == 302
        with django_capture_on_commit_callbacks(execute=True):
            page = _assign(client, STAFF_EMAIL, newcomer).content.decode()
    finally:
        for row in rows:
            dynamics.delete_row("systemusers", row["systemuserid"])

    assert not Seat.objects.filter(user=staff_user).exists()
    assert f"Not assigned: {STAFF_EMAIL} {ACCOUNT_NOT_THE_CONTRACTS}." in page
    assert Seat.objects.filter(contract=crm_contract, user__email=newcomer).exists()
    assert "Assigned 1 seat." in page
    # Only the newcomer is invited: no set-password link goes out for the staff account.
    assert [m.to for m in mail.outbox] == [[newcomer]]
    staff_user.refresh_from_db()
    assert staff_user.check_password("staff-password-2026")


def test_assign_from_crm_refuses_the_staff_user_and_seats_the_others(
    login, admin, staff_user, contract
):
    CrmConnectionFactory(contract=contract)
    CrmUserFactory(contract=contract, full_name="Stella Ops", email=STAFF_EMAIL)
    CrmUserFactory(contract=contract, full_name="Nia New", email="nia@contoso.test")

    page = _assign(login(admin), STAFF_EMAIL, "nia@contoso.test").content.decode()

    assert not hasattr(User.objects.get(email=STAFF_EMAIL), "seat")
    assert Seat.objects.filter(contract=contract, user__email="nia@contoso.test").exists()
    assert f"Not assigned: {STAFF_EMAIL} {ACCOUNT_NOT_THE_CONTRACTS}." in page


def _someone_with_a_removed_seat():
    user = SeatFactory(user__email="left@contoso.test").user
    user.seat.delete()
    return user


@pytest.mark.parametrize(
    ("make_account", "reason"),
    [
        pytest.param(
            lambda: User.objects.create_superuser("root@crm-sync.test", "pw"),
            ACCOUNT_NOT_THE_CONTRACTS,
            id="superuser",
        ),
        pytest.param(
            lambda: User.objects.create_user("helper@crm-sync.test", "pw", is_staff=True),
            ACCOUNT_NOT_THE_CONTRACTS,
            id="staff",
        ),
        pytest.param(
            lambda: (
                SeatFactory(
                    contract=ContractFactory(name="Fabrikam"), user__email="rep@fabrikam.test"
                ).user
            ),
            ALREADY_HOLDS_A_SEAT,
            id="another-contracts-seat-holder",
        ),
        pytest.param(_someone_with_a_removed_seat, ACCOUNT_NOT_THE_CONTRACTS, id="own-password"),
    ],
)
def test_a_seat_is_never_attached_to_an_existing_account(contract, make_account, reason):
    account = make_account()
    before = (account.password, account.is_staff, account.is_superuser)

    result = seats_create(
        contract=contract,
        people=[{"email": account.email.upper()}, {"email": "fresh@contoso.test"}],
    )

    assert result.refused == {account.email: reason}
    assert [seat.user.email for seat in result.seats] == ["fresh@contoso.test"]
    account.refresh_from_db()
    assert (account.password, account.is_staff, account.is_superuser) == before
    assert not Seat.objects.filter(contract=contract, user=account).exists()


def test_another_persons_second_address_is_not_taken_over(contract, outsider):
    EmailAddress.objects.create(user=outsider.user, email="alias@fabrikam.test")

    result = seats_create(contract=contract, people=[{"email": "alias@fabrikam.test"}])

    assert result.seats == []
    assert result.refused == {"alias@fabrikam.test": ACCOUNT_NOT_THE_CONTRACTS}
    assert not User.objects.filter(email="alias@fabrikam.test").exists()


def test_an_admin_cannot_change_the_email_of_a_staff_users_seat(login, admin, staff_user, contract):
    """A staff user holding a seat on the contract (set up by staff, or left from before the fix):
    the admin may not point its email at an address they own."""
    seat = Seat.objects.create(contract=contract, user=staff_user)
    client = login(admin)

    response = client.post(
        reverse("seats:edit", args=[seat.pk]),
        {"first_name": "Mallory", "last_name": "", "email": ATTACKER_EMAIL, "role": seat.role},
    )

    assert response.status_code == 400
    assert "belongs to the portal&#x27;s operator" in response.content.decode()
    staff_user.refresh_from_db()
    assert (staff_user.email, staff_user.first_name) == (STAFF_EMAIL, "")
    # The last step of the attack finds nothing to reset: no set-password link reaches them.
    client.logout()
    client.post(reverse("account_reset_password"), {"email": ATTACKER_EMAIL})
    to_attacker = [m.body for m in mail.outbox if ATTACKER_EMAIL in m.to]
    assert not [body for body in to_attacker if "/accounts/password/reset/key/" in body]


def test_an_admin_cannot_edit_a_seat_of_another_contract(login, admin, outsider):
    response = login(admin).post(
        reverse("seats:edit", args=[outsider.pk]),
        {"first_name": "X", "last_name": "", "email": ATTACKER_EMAIL, "role": outsider.role},
    )

    assert response.status_code == 404
    outsider.user.refresh_from_db()
    assert outsider.user.email == "admin@fabrikam.test"


def test_an_admin_still_edits_their_own_seat_holders(login, admin, seat_holder):
    response = login(admin).post(
        reverse("seats:edit", args=[seat_holder.pk]),
        {
            "first_name": "Rita",
            "last_name": "Rep",
            "email": "rita@contoso.test",
            "role": "seat_holder",
        },
    )

    assert response.status_code == 302
    seat_holder.user.refresh_from_db()
    assert seat_holder.user.email == "rita@contoso.test"
