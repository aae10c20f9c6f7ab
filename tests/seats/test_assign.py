"""*Assign seats from CRM* over the contract's mirror of CRM users (no CRM needed).

The same flow against the running emulator is in ``test_assign_emulator.py``.
"""

import re

import pytest
from django.core import mail
from django.urls import reverse

from dynamics import ConnectError
from seats.models import AuditEntry, Seat, User
from sync.models import CrmUser, SeatCrmUser
from sync.tasks import SYNC_RUN
from tests.factories import ContractFactory, CrmConnectionFactory, CrmUserFactory, SeatFactory

pytestmark = pytest.mark.django_db

PAGE = reverse("seats:assign")
ASSIGN = reverse("seats:assign_create")
REFRESH = reverse("seats:crm_users_refresh")


@pytest.fixture
def crm(contract):
    """A connected contract whose CRM has people with and without a seat, and some who can't."""
    CrmConnectionFactory(contract=contract)
    people = {
        name: CrmUserFactory(contract=contract, full_name=full_name, email=email)
        for name, full_name, email in [
            ("jordan", "Jordan Kim", "jordan.kim@contoso.test"),
            ("lee", "Lee Chen", "lee.chen@contoso.test"),
            ("sam", "Sam Lee", "sam.lee@contoso.test"),
            ("rep", "Rita Rep", "rep@contoso.test"),  # holds a seat (the seat_holder fixture)
        ]
    }
    people["disabled"] = CrmUserFactory(
        contract=contract, email="gone@contoso.test", is_disabled=True
    )
    people["app"] = CrmUserFactory(
        contract=contract, email="app@contoso.test", is_application_user=True
    )
    people["no_email"] = CrmUserFactory(contract=contract, email="", domain_name="x@contoso.test")
    people["integration"] = CrmUserFactory(
        contract=contract,
        full_name="Integration User",
        email="integration@contoso.test",
        access_mode=CrmUser.AccessMode.NON_INTERACTIVE,
    )
    return people


def _offered(response) -> list[str]:
    return [user.email for user in response.context["page"].object_list]


def test_it_offers_active_people_with_an_email_and_no_seat(login, admin, seat_holder, crm):
    response = login(admin).get(PAGE)
    assert _offered(response) == [
        "jordan.kim@contoso.test", "lee.chen@contoso.test", "sam.lee@contoso.test",
    ]  # fmt: skip
    page = response.content.decode()
    assert page.count("<h1>") == 1
    assert "23 free seats" in page  # 25 purchased: the admin and the seat holder hold two
    assert 'data-select-all="crm_user"' in page


def test_integration_and_application_users_are_left_out_unless_asked_for(
    login, admin, seat_holder, crm
):
    """*Assign seats from CRM*'s select-all used to tick the Integration User (non-interactive)
    and the application users along with the people."""
    client = login(admin)
    assert "integration@contoso.test" not in _offered(client.get(PAGE))
    assert "app@contoso.test" not in _offered(client.get(PAGE))

    everyone = client.get(PAGE, {"everyone": "on"})
    assert set(_offered(everyone)) == {
        "app@contoso.test", "integration@contoso.test", "jordan.kim@contoso.test",
        "lee.chen@contoso.test", "sam.lee@contoso.test",
    }  # fmt: skip
    page = everyone.content.decode()
    assert 'Integration User <span class="badge badge-muted">Non-interactive</span>' in page
    assert ">Application user</span>" in page
    assert '<input type="hidden" name="everyone" value="on">' in page


def test_all_matching_assigns_only_the_people_listed(login, admin, contract, crm):
    _assign(login(admin), scope="all")
    assert not Seat.objects.filter(user__email="integration@contoso.test").exists()
    assert Seat.objects.filter(user__email="jordan.kim@contoso.test").exists()


def test_a_non_interactive_user_shown_and_ticked_gets_a_seat(login, admin, contract, crm):
    response = _assign(login(admin), crm["integration"], everyone="on")
    assert "Assigned 1 seat." in response.content.decode()
    assert Seat.objects.filter(user__email="integration@contoso.test").exists()


def test_a_seat_on_another_contract_counts_as_holding_one(login, admin, outsider, crm):
    SeatFactory(contract=outsider.contract, user__email="sam.lee@contoso.test")
    assert "sam.lee@contoso.test" not in _offered(login(admin).get(PAGE))


def test_it_searches_and_pages(login, admin, contract, seat_holder, crm):
    client = login(admin)
    assert _offered(client.get(PAGE, {"q": "chen"})) == ["lee.chen@contoso.test"]
    CrmUserFactory.create_batch(60, contract=contract)
    response = client.get(PAGE, {"page": 2})
    assert len(response.context["page"].object_list) == 13


def _assign(client, *users, **extra):
    return client.post(ASSIGN, {"crm_user": [u.pk for u in users], **extra}, follow=True)


def test_assigning_creates_users_seats_and_invitations(
    login, admin, contract, crm, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _assign(login(admin), crm["jordan"], crm["lee"])
    assert "Assigned 2 seats. Each person gets an email to set their password." in (
        response.content.decode()
    )
    seat = Seat.objects.select_related("user").get(user__email="jordan.kim@contoso.test")
    assert seat.contract == contract and seat.role == "seat_holder"
    assert (seat.user.first_name, seat.user.last_name) == ("Jordan", "Kim")
    assert not seat.user.has_usable_password()
    assert SeatCrmUser.objects.get(seat=seat).crm_user == crm["jordan"]
    assert sorted(m.to[0] for m in mail.outbox) == [
        "jordan.kim@contoso.test",
        "lee.chen@contoso.test",
    ]
    assert AuditEntry.objects.get(action="seats.create").actor_label == "admin@contoso.test"
    assert AuditEntry.objects.get(action="seats.invite").after["emails"]
    # Auto sync is Yes (the default): their Accounts and Leads are imported now.
    assert enqueued == [(SYNC_RUN, contract.pk, "seats")]


def test_the_invitation_lets_them_set_a_password_and_sign_in(
    client, login, admin, crm, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _assign(login(admin), crm["jordan"])
    client.logout()
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    set_password = client.get(link.group(1), follow=True)
    form_url = set_password.redirect_chain[-1][0]
    client.post(form_url, {"password1": "a-new-pass-2026!", "password2": "a-new-pass-2026!"})
    assert User.objects.get(email="jordan.kim@contoso.test").check_password("a-new-pass-2026!")
    assert client.login(username="jordan.kim@contoso.test", password="a-new-pass-2026!")


def test_an_exact_fit_fills_the_contract(login, admin, contract, crm):
    contract.purchased_seats = 3  # the admin holds one: two are free
    contract.save()
    response = _assign(login(admin), crm["jordan"], crm["lee"])
    assert "Assigned 2 seats." in response.content.decode()
    assert Seat.objects.filter(contract=contract).count() == 3


def test_one_over_the_free_seats_creates_nothing(login, admin, contract, crm):
    contract.purchased_seats = 3
    contract.save()
    response = _assign(login(admin), crm["jordan"], crm["lee"], crm["sam"])
    page = response.content.decode()
    assert "3 purchased seats and 1 in use, so 2 can be assigned; you selected 3." in page
    assert "Nothing was assigned." in page
    assert Seat.objects.filter(contract=contract).count() == 1
    assert mail.outbox == []


def test_re_assigning_a_seat_holder_is_a_no_op_with_a_notice(
    login, admin, contract, seat_holder, crm
):
    contract.purchased_seats = 3  # admin and seat holder: one free
    contract.save()
    response = _assign(login(admin), crm["rep"], crm["jordan"])
    page = response.content.decode()
    assert "Assigned 1 seat." in page
    assert "Already holding a seat, nothing changed: rep@contoso.test." in page
    assert Seat.objects.filter(contract=contract).count() == 3
    response = _assign(login(admin), crm["rep"])
    assert "Already holding a seat, nothing changed: rep@contoso.test." in response.content.decode()


def test_people_who_cannot_have_a_seat_are_reported(login, admin, crm):
    response = _assign(login(admin), crm["disabled"], crm["app"])
    assert "Cannot be given a seat" in response.content.decode()
    assert not Seat.objects.filter(user__email__in=["gone@contoso.test", "app@contoso.test"])


def test_all_matching_assigns_everyone_the_search_finds(login, admin, contract, crm):
    _assign(login(admin), scope="all", q="lee")
    assert set(Seat.objects.values_list("user__email", flat=True)) == {
        "admin@contoso.test", "lee.chen@contoso.test", "sam.lee@contoso.test",
    }  # fmt: skip


def test_it_refuses_another_contracts_crm_users(login, admin, outsider, crm):
    assert _assign(login(outsider), crm["jordan"]).status_code == 404
    assert not Seat.objects.filter(user__email="jordan.kim@contoso.test").exists()


def test_it_refuses_seat_holders(login, seat_holder, crm):
    assert login(seat_holder).get(PAGE).status_code == 403
    assert _assign(login(seat_holder), crm["jordan"]).status_code == 403


def test_refresh_needs_a_connection(login, admin):
    response = login(admin).post(REFRESH, follow=True)
    assert "Connect to CRM on Admin Settings &gt; CRM Settings first." in response.content.decode()


def test_refresh_shows_the_guides_message_when_dynamics_fails(login, admin, crm, monkeypatch):
    def unreachable(**kwargs):
        raise ConnectError("Connection refused", url="https://contoso.crm.dynamics.com/api")

    monkeypatch.setattr("sync.seat_services.open_client", _fake_open_client)
    monkeypatch.setattr("sync.seat_services.crm_users_refresh", unreachable)
    page = login(admin).post(REFRESH, {"next": PAGE}, follow=True).content.decode()
    assert "Could not connect to CRM. Please try again later." in page
    assert "Next step: There is a connection error with CRM. Please re-try later." in page
    admin.contract.crm_connection.refresh_from_db()
    assert admin.contract.crm_connection.last_error_kind == "connect"


def _fake_open_client(connection, **options):
    from contextlib import nullcontext

    return nullcontext(object())


def test_a_contract_without_crm_users_says_so(login, admin):
    CrmConnectionFactory(contract=admin.contract)
    page = login(admin).get(PAGE).content.decode()
    assert "Your CRM's users have not been read yet. Select Refresh from CRM." in page


def test_free_seats_count_the_contracts_own_seats_only(login, admin, crm):
    SeatFactory(contract=ContractFactory(purchased_seats=1))
    assert "24 free seats" in login(admin).get(PAGE).content.decode()


def test_the_page_costs_the_same_queries_for_10_and_600_crm_users(
    login, admin, contract, django_assert_num_queries
):
    CrmConnectionFactory(contract=contract)
    client = login(admin)
    CrmUserFactory.create_batch(10, contract=contract)
    SeatFactory.create_batch(5, contract=contract)
    with django_assert_num_queries(8):
        assert client.get(PAGE).status_code == 200
    CrmUserFactory.create_batch(590, contract=contract)
    SeatFactory.create_batch(100, contract=contract)
    with django_assert_num_queries(8):
        assert len(client.get(PAGE, {"page": 3}).context["page"].object_list) == 50


def test_setting_the_password_signs_them_in_on_their_accounts(
    client, login, admin, crm, django_capture_on_commit_callbacks
):
    """An invited seat holder used to end on allauth's "Change Password" done page, signed out
    and with nowhere to go."""
    with django_capture_on_commit_callbacks(execute=True):
        _assign(login(admin), crm["jordan"])
    client.logout()
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", mail.outbox[0].body)
    form_page = client.get(link.group(1), follow=True)
    page = form_page.content.decode()
    assert "<h1>Choose your password</h1>" in page and "jordan.kim@contoso.test" in page
    assert "portal.css" in page  # the portal's own layout

    landed = client.post(
        form_page.redirect_chain[-1][0],
        {"password1": "a-new-pass-2026!", "password2": "a-new-pass-2026!"},
        follow=True,
    )

    assert landed.redirect_chain[-1][0] == reverse("network:accounts")
    assert landed.wsgi_request.user.email == "jordan.kim@contoso.test"
    assert "<h1>Accounts</h1>" in landed.content.decode()


def test_a_used_invitation_link_says_what_to_do(
    client, login, admin, crm, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _assign(login(admin), crm["jordan"])
    client.logout()
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", mail.outbox[0].body)
    form_url = client.get(link.group(1), follow=True).redirect_chain[-1][0]
    client.post(form_url, {"password1": "a-new-pass-2026!", "password2": "a-new-pass-2026!"})
    client.logout()
    again = client.get(link.group(1), follow=True).content.decode()
    assert "This link no longer works" in again and "send the invitation again" in again


def test_the_select_all_box_counts_one_person_in_the_singular(login, admin, seat_holder, crm):
    page = login(admin).get(PAGE, {"q": "chen"}).content.decode()
    assert "The 1 person matching the search, not only the ticked ones" in page
    assert "All 1 people" not in page
    assert "All 3 people, not only the ticked ones" in login(admin).get(PAGE).content.decode()
