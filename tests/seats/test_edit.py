"""Editing a seat: role (never the last admin), name and email (which re-maps it to a CRM user)."""

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from seats.models import AuditEntry, Role, Seat
from sync.models import SeatCrmUser
from tests.factories import CrmConnectionFactory, CrmUserFactory, SeatFactory

pytestmark = pytest.mark.django_db


def _url(seat) -> str:
    return reverse("seats:edit", args=[seat.pk])


def _form(seat, **changes) -> dict:
    user = seat.user
    return {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "role": seat.role,
        **changes,
    }


def test_the_page_has_labelled_fields(login, admin, seat_holder):
    page = login(admin).get(_url(seat_holder)).content.decode()
    assert page.count("<h1>") == 1
    for name in ("first_name", "last_name", "email", "role"):
        assert f'<label for="id_{name}">' in page


def test_it_changes_the_role_and_name(login, admin, seat_holder):
    response = login(admin).post(
        _url(seat_holder), _form(seat_holder, role=Role.ADMIN, first_name="Rita", next="/seats/")
    )
    assert response.status_code == 302 and response.url == "/seats/"
    seat_holder.refresh_from_db()
    assert seat_holder.role == Role.ADMIN
    assert seat_holder.user.first_name == "Rita"
    assert AuditEntry.objects.filter(action="seat.role").exists()
    assert AuditEntry.objects.get(action="seat.details").after == {"first_name": "Rita"}


def test_an_admin_cannot_remove_the_last_admin(login, admin, seat_holder):
    response = login(admin).post(_url(admin), _form(admin, role=Role.SEAT_HOLDER, last_name="X"))
    assert response.status_code == 400
    assert "last admin" in response.content.decode()
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN
    assert admin.user.last_name != "X", "all or nothing"


def test_an_admin_can_step_down_when_another_admin_remains(login, admin, admin_only):
    response = login(admin).post(_url(admin), _form(admin, role=Role.SEAT_HOLDER))
    assert response.status_code == 302
    assert Seat.objects.get(pk=admin.pk).role == Role.SEAT_HOLDER


def test_a_new_email_re_runs_the_crm_user_mapping(login, contract, admin, seat_holder):
    CrmConnectionFactory(contract=contract)
    rita = CrmUserFactory(contract=contract, email="rep@contoso.test")
    jordan = CrmUserFactory(contract=contract, email="jordan@contoso.test")
    SeatCrmUser.objects.create(seat=seat_holder, crm_user=rita)
    client = login(admin)

    client.post(_url(seat_holder), _form(seat_holder, email="Jordan@Contoso.test"))
    assert SeatCrmUser.objects.get(seat=seat_holder).crm_user == jordan

    client.post(_url(seat_holder), _form(seat_holder, email="nobody@contoso.test"))
    link = SeatCrmUser.objects.get(seat=seat_holder)
    assert link.crm_user is None
    assert link.reason == "No CRM user has the email nobody@contoso.test."


def test_the_old_email_no_longer_signs_in(login, admin, seat_holder):
    EmailAddress.objects.create(user=seat_holder.user, email="rep@contoso.test", primary=True)
    login(admin).post(_url(seat_holder), _form(seat_holder, email="rita@contoso.test"))
    assert list(EmailAddress.objects.filter(user=seat_holder.user)) == []
    assert Seat.objects.get(pk=seat_holder.pk).user.email == "rita@contoso.test"


def test_an_email_someone_else_uses_is_refused(login, admin, seat_holder):
    response = login(admin).post(_url(seat_holder), _form(seat_holder, email="ADMIN@contoso.test"))
    assert response.status_code == 400
    assert "Another person already signs in with admin@contoso.test." in response.content.decode()


def test_a_new_email_gets_the_invitation_when_it_was_never_accepted(
    login, contract, admin, django_capture_on_commit_callbacks
):
    invited = SeatFactory(contract=contract, user__email="typo@contoso.test", user__password=None)
    invited.user.set_unusable_password()
    invited.user.save()
    with django_capture_on_commit_callbacks(execute=True):
        login(admin).post(_url(invited), _form(invited, email="right@contoso.test"))
    assert [m.to for m in mail.outbox] == [["right@contoso.test"]]


def test_it_hides_other_contracts_seats(login, admin, outsider):
    assert login(outsider).get(_url(admin)).status_code == 404
    assert login(outsider).post(_url(admin), _form(admin, first_name="X")).status_code == 404


def test_it_refuses_seat_holders(login, admin, seat_holder):
    assert login(seat_holder).get(_url(admin)).status_code == 403
