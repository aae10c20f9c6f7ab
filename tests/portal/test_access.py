"""Who can open which page: the access matrix over every portal URL.

Each row: a URL name, and the status each role gets. "login" means anonymous visitors are sent to
the sign-in page. Later issues add their URLs here; object URLs of another contract are covered by
``test_it_hides_other_contracts_objects`` in each app's tests.
"""

import pytest
from django.urls import reverse

OK, FORBIDDEN, LOGIN, REDIRECT, NOT_ALLOWED = 200, 403, "login", 302, 405
# No worker runs here: /readyz answers everyone, signed in or not, that it is not ready.
NOT_READY = 503

MATRIX = {
    # url name:                 anonymous, seat_holder, admin_only, admin, outsider, staff, stranger
    "overview:index":           (LOGIN, FORBIDDEN, OK, OK, OK, FORBIDDEN, FORBIDDEN),
    "crm_settings:index":       (LOGIN, FORBIDDEN, OK, OK, OK, FORBIDDEN, FORBIDDEN),
    "crm_settings:disconnect":  (LOGIN, FORBIDDEN, OK, OK, OK, FORBIDDEN, FORBIDDEN),
    "crm_settings:callback":    (LOGIN, FORBIDDEN, REDIRECT, REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN),
    "crm_settings:connect":     (LOGIN, FORBIDDEN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, FORBIDDEN, FORBIDDEN),
    "crm_settings:save_sync_settings": (LOGIN, FORBIDDEN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, FORBIDDEN, FORBIDDEN),
    "crm_settings:save_writeback_settings": (
        LOGIN, FORBIDDEN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, FORBIDDEN, FORBIDDEN,
    ),
    "crm_settings:refresh_choices": (
        LOGIN, FORBIDDEN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, FORBIDDEN, FORBIDDEN,
    ),
    "crm_settings:resume_sync": (LOGIN, FORBIDDEN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, FORBIDDEN, FORBIDDEN),
    "crm_settings:resume_writeback": (LOGIN, FORBIDDEN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, FORBIDDEN, FORBIDDEN),
    "crm_settings:save_pause_settings": (LOGIN, FORBIDDEN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, FORBIDDEN, FORBIDDEN),
    "alerts:preferences":       (LOGIN, FORBIDDEN, OK, OK, OK, FORBIDDEN, FORBIDDEN),
    "sync:status":              (LOGIN, FORBIDDEN, OK, OK, OK, FORBIDDEN, FORBIDDEN),
    "sync:history":             (LOGIN, FORBIDDEN, OK, OK, OK, FORBIDDEN, FORBIDDEN),
    "sync:records":             (LOGIN, FORBIDDEN, OK, OK, OK, FORBIDDEN, FORBIDDEN),
    "sync:sync_now":            (LOGIN, FORBIDDEN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, FORBIDDEN, FORBIDDEN),
    "seats:list":               (LOGIN, FORBIDDEN, OK, OK, OK, FORBIDDEN, FORBIDDEN),
    "seats:export":             (LOGIN, FORBIDDEN, OK, OK, OK, FORBIDDEN, FORBIDDEN),
    "seats:assign":             (LOGIN, FORBIDDEN, OK, OK, OK, FORBIDDEN, FORBIDDEN),
    # Without a selection the confirmation sends the admin back to the list.
    "seats:sync_disable":       (LOGIN, FORBIDDEN, REDIRECT, REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN),
    "seats:sync_enable":        (LOGIN, FORBIDDEN, REDIRECT, REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN),
    "seats:invite":             (LOGIN, FORBIDDEN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, FORBIDDEN, FORBIDDEN),
    "seats:assign_preview":     (LOGIN, FORBIDDEN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, FORBIDDEN, FORBIDDEN),
    "seats:assign_create":      (LOGIN, FORBIDDEN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, FORBIDDEN, FORBIDDEN),
    "seats:crm_users_refresh":  (LOGIN, FORBIDDEN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, FORBIDDEN, FORBIDDEN),
    "network:accounts":         (LOGIN, OK, FORBIDDEN, OK, OK, FORBIDDEN, OK),
    "network:leads":            (LOGIN, OK, FORBIDDEN, OK, OK, FORBIDDEN, OK),
    "inbox:inbox":          (LOGIN, OK, FORBIDDEN, OK, OK, FORBIDDEN, OK),
    "inbox:new_message":    (LOGIN, OK, FORBIDDEN, OK, OK, FORBIDDEN, OK),
    "inbox:new_inmail":     (LOGIN, OK, FORBIDDEN, OK, OK, FORBIDDEN, OK),
    "inbox:api_tokens":     (LOGIN, OK, FORBIDDEN, OK, OK, FORBIDDEN, OK),
    "writeback:unresolved":     (LOGIN, OK, OK, OK, OK, FORBIDDEN, OK),
    "writeback:failed":         (LOGIN, FORBIDDEN, OK, OK, OK, FORBIDDEN, FORBIDDEN),
    "writeback:unresolved_export": (LOGIN, OK, OK, OK, OK, FORBIDDEN, OK),
    # Admins see every flagged contact of the contract, seat holders their own Leads' (both 200).
    "validation:flags":         (LOGIN, OK, OK, OK, OK, FORBIDDEN, OK),
    "validation:flags_csv":     (LOGIN, OK, OK, OK, OK, FORBIDDEN, OK),
    "reports:won_revenue":      (LOGIN, FORBIDDEN, OK, OK, OK, FORBIDDEN, FORBIDDEN),
    "reports:won_revenue_csv":  (LOGIN, FORBIDDEN, OK, OK, OK, FORBIDDEN, FORBIDDEN),
    "reports:matches":          (LOGIN, FORBIDDEN, OK, OK, OK, FORBIDDEN, FORBIDDEN),
    "reports:matches_csv":      (LOGIN, FORBIDDEN, OK, OK, OK, FORBIDDEN, FORBIDDEN),
    "reports:audit":            (LOGIN, FORBIDDEN, OK, OK, OK, FORBIDDEN, FORBIDDEN),
    "reports:audit_csv":        (LOGIN, FORBIDDEN, OK, OK, OK, FORBIDDEN, FORBIDDEN),
    "portal:home":              (LOGIN, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    "account_change_password":  (LOGIN, OK, OK, OK, OK, OK, OK),
    "portal:healthz":           (OK, OK, OK, OK, OK, OK, OK),
    "portal:readyz":            (NOT_READY, NOT_READY, NOT_READY, NOT_READY, NOT_READY, NOT_READY, NOT_READY),
    "account_login":            (OK, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    "account_email":            (LOGIN, OK, OK, OK, OK, OK, OK),
    # The Django admin: staff only; everyone else is sent to its sign-in page.
    "admin:index":              (REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, OK, REDIRECT),
}  # fmt: skip
ROLES = ["anonymous", "seat_holder", "admin_only", "admin", "outsider", "staff", "stranger"]


@pytest.mark.parametrize("url_name", MATRIX)
@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(request, client, url_name, role):
    expected = MATRIX[url_name][ROLES.index(role)]
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role).user)
    else:
        request.getfixturevalue("contract")
    url = reverse(url_name)
    response = client.get(url)
    if expected == LOGIN:
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))
    else:
        assert response.status_code == expected, response.content[:300]


def test_admin_pages_show_the_admins_own_contract(login, admin, outsider):
    response = login(admin).get(reverse("seats:list"))
    assert b"admin@contoso.test" in response.content
    assert b"admin@fabrikam.test" not in response.content


def test_navigation_follows_the_role(login, admin, admin_only, seat_holder):
    page = login(seat_holder).get(reverse("network:accounts")).content.decode()
    assert "Contoso Test" in page
    assert "Inbox" in page and "Seat Management" not in page

    page = login(admin_only).get(reverse("crm_settings:index")).content.decode()
    assert "Seat Management" in page and "CRM Settings" in page and ">CRM Sync</a>" in page
    assert ">Inbox<" not in page and ">Leads<" not in page

    page = login(admin).get(reverse("network:accounts")).content.decode()
    assert "Seat Management" in page and ">Inbox<" in page
    for report in ("Won revenue", "Match report", "Audit trail"):
        assert report in page


def test_a_user_without_a_seat_is_told_so(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    response = client.get(reverse("portal:home"))
    assert response.status_code == 403
    assert "You don't hold a seat yet" in response.content.decode()
    assert client.get(reverse("network:accounts")).status_code == 403


def test_home_sends_admins_to_the_crm_sync_overview_and_seat_holders_to_accounts(
    login, admin, admin_only, seat_holder
):
    assert login(admin).get(reverse("portal:home")).url == reverse("overview:index")
    assert login(admin_only).get(reverse("portal:home")).url == reverse("overview:index")
    assert login(seat_holder).get(reverse("portal:home")).url == reverse("network:accounts")


def test_staff_admin_requires_staff(login, admin):
    response = login(admin).get(reverse("admin:index"))
    assert response.status_code == 302
    assert "/admin/login/" in response.url
