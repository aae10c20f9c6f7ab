"""*Assign seats from CRM* against the running Dynamics emulator, over real HTTPS.

The emulator's org has the demo's named users (``demodata.DEMO_USERS``): six hold portal seats
here, as in the demo; Jordan Kim and Lee Chen have none; Chris Former is disabled in Dynamics;
the Integration User is non-interactive and the Portal Integration App an application user.
``crm_contract`` (tests/conftest.py) is the contract connected to that org through CRM Settings.
"""

import pytest
from django.core import mail
from django.urls import reverse

from demodata import DEMO_USERS
from seats.models import Role, Seat
from sync.models import CrmUser
from sync.seat_selectors import seats_with_crm_state
from tests.factories import SeatFactory

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]

PAGE = reverse("seats:assign")
ASSIGN = reverse("seats:assign_create")
REFRESH = reverse("seats:crm_users_refresh")
JORDAN, LEE, RILEY = (
    "jordan.kim@contoso-demo.com",
    "lee.chen@contoso-demo.com",
    "readonly@contoso-demo.com",
)


@pytest.fixture
def demo_seats(crm_contract):
    """The demo's six seats on the connected contract; with ``admin``'s, two of nine are free."""
    crm_contract.purchased_seats = 9
    crm_contract.save()
    for person in DEMO_USERS:
        if person.seat:
            first, last = person.fullname.split(" ", 1)
            SeatFactory(
                contract=crm_contract,
                role=Role.ADMIN if person.role == "admin" else Role.SEAT_HOLDER,
                user__email=person.email,
                user__first_name=first,
                user__last_name=last,
            )
    return crm_contract


def _offered(client) -> list[str]:
    return sorted(user.email for user in client.get(PAGE).context["page"].object_list)


def _assign(client, *emails):
    ids = CrmUser.objects.filter(email__in=emails).values_list("pk", flat=True)
    return client.post(ASSIGN, {"crm_user": list(ids), "next": PAGE}, follow=True).content.decode()


def test_assign_from_crm_within_the_seat_limit(
    login, admin, demo_seats, django_capture_on_commit_callbacks
):
    client = login(admin)

    page = client.post(REFRESH, {"next": PAGE}, follow=True).content.decode()
    assert "users from your CRM." in page
    # The people of the CRM without a seat: active, with an email, neither an application user
    # nor the non-interactive Integration User.
    assert _offered(client) == sorted([JORDAN, LEE, RILEY])
    integration = CrmUser.objects.get(email="integration@contoso-demo.com")
    assert integration.access_mode == CrmUser.AccessMode.NON_INTERACTIVE
    assert "2 free seats" in client.get(PAGE).content.decode()
    # Refreshing also matched the demo's seat holders to their CRM users: auto sync is Yes.
    demo = Seat.objects.filter(contract=demo_seats, user__email__endswith="@contoso-demo.com")
    assert [seat.in_crm for seat in seats_with_crm_state(demo)] == [True] * 6

    # One over the two free seats: refused, nothing created.
    page = _assign(client, JORDAN, LEE, RILEY)
    assert "so 2 can be assigned; you selected 3. Nothing was assigned." in page
    assert not Seat.objects.filter(user__email__in=[JORDAN, LEE, RILEY]).exists()

    # An exact fit: both get a seat, an invitation, and their CRM user.
    with django_capture_on_commit_callbacks(execute=True):
        page = _assign(client, JORDAN, LEE)
    assert "Assigned 2 seats." in page
    assert sorted(m.to[0] for m in mail.outbox) == [JORDAN, LEE]
    new = seats_with_crm_state(Seat.objects.filter(user__email__in=[JORDAN, LEE]))
    assert {(s.user.email, s.crm_user_email, s.in_crm) for s in new} == {
        (JORDAN, JORDAN, True), (LEE, LEE, True),
    }  # fmt: skip
    assert "0 free seats" in client.get(PAGE).content.decode()

    # Assigning them again (a page opened before) is a no-op with a notice, even when full.
    page = _assign(client, JORDAN)
    assert f"Already holding a seat, nothing changed: {JORDAN}." in page
    assert Seat.objects.filter(contract=demo_seats).count() == 9


def test_refresh_shows_the_guides_message_when_the_crm_refuses(
    login, admin, crm_contract, dynamics
):
    dynamics.set_faults(deny={"integration@contoso-demo.com": ["systemuser"]})
    page = login(admin).post(REFRESH, {"next": PAGE}, follow=True).content.decode()
    assert (
        "Your CRM account does not have sufficient access privileges. "
        "Please check with your CRM administrator." in page
    )
    assert "Next step: Connect with your internal CRM administrator" in page
    assert not CrmUser.objects.filter(contract=crm_contract).exists()
