"""Admin / Seat Management: the list, its search, sort, filters and pages, and what it costs."""

import pytest
from django.urls import reverse
from django.utils import timezone

from crm_settings.models import CrmSettings
from seats.models import Seat
from sync.models import SeatCrmUser
from tests.factories import (
    CrmConnectionFactory,
    CrmUserFactory,
    SavedAccountFactory,
    SavedLeadFactory,
    SeatFactory,
    seats_bulk_create,
)

pytestmark = pytest.mark.django_db

URL = reverse("seats:list")


def _emails(response) -> list[str]:
    return [seat.user.email for seat, _ in response.context["rows"]]


@pytest.fixture
def team(contract, admin, admin_only, seat_holder):
    """A connected contract: the named cast plus two more seat holders, one mapped, one not."""
    CrmConnectionFactory(contract=contract)
    jordan = SeatFactory(
        contract=contract, user__email="jordan@contoso.test", user__first_name="Jordan",
        user__last_name="Kim",
    )  # fmt: skip
    lee = SeatFactory(
        contract=contract, user__email="lee@contoso.test", user__first_name="Lee",
        user__last_name="Chen",
    )  # fmt: skip
    SeatCrmUser.objects.create(
        seat=jordan, crm_user=CrmUserFactory(contract=contract, email="jordan@contoso.test")
    )
    SeatCrmUser.objects.create(seat=lee, reason="No CRM user has the email lee@contoso.test.")
    return {"jordan": jordan, "lee": lee}


def test_it_lists_every_seat_with_its_crm_state(login, admin, team):
    page = login(admin).get(URL).content.decode()
    assert page.count("<h1>") == 1
    assert "Jordan Kim" in page and "jordan@contoso.test" in page
    assert "Not Matched" in page and "No CRM user has the email lee@contoso.test." in page
    assert "Admin only" in page
    assert "Assign seats from CRM" in page
    assert 'data-select-all="seat"' in page
    assert page.count('<details class="menu row-menu">') == 5


def test_it_searches_names_and_emails(login, admin, team):
    client = login(admin)
    assert _emails(client.get(URL, {"q": "jordan kim"})) == ["jordan@contoso.test"]
    assert _emails(client.get(URL, {"q": "CHEN"})) == ["lee@contoso.test"]
    assert _emails(client.get(URL, {"q": "@contoso.test", "role": "admin_only"})) == [
        "adminonly@contoso.test"
    ]


def test_it_filters_on_in_crm_mapping_and_sync(login, admin, contract, team):
    client = login(admin)
    assert _emails(client.get(URL, {"crm": "yes"})) == ["jordan@contoso.test"]
    assert "jordan@contoso.test" not in _emails(client.get(URL, {"crm": "no"}))
    assert _emails(client.get(URL, {"mapping": "yes"})) == ["jordan@contoso.test"]
    # Not Matched: a reason on record, or never checked (the named cast); never Admin only.
    assert sorted(_emails(client.get(URL, {"mapping": "no"}))) == [
        "admin@contoso.test", "lee@contoso.test", "rep@contoso.test",
    ]  # fmt: skip
    team["lee"].crm_sync = "off"
    team["lee"].save()
    assert _emails(client.get(URL, {"sync": "no"})) == ["lee@contoso.test"]
    assert "adminonly@contoso.test" not in _emails(client.get(URL, {"sync": "yes"}))


def test_an_unknown_filter_value_is_ignored(login, admin, team):
    response = login(admin).get(URL, {"role": "owner", "crm": "maybe", "sort": "salary"})
    assert response.status_code == 200
    assert len(response.context["rows"]) == 5


def test_it_sorts_by_name_email_role_and_last_import(login, admin, team):
    client = login(admin)
    assert _emails(client.get(URL, {"sort": "email"}))[0] == "admin@contoso.test"
    assert _emails(client.get(URL, {"sort": "-email"}))[0] == "rep@contoso.test"
    # By name: people without a name sort by their email.
    names = [s.user.display_name for s, _ in client.get(URL, {"sort": "name"}).context["rows"]]
    assert names.index("Jordan Kim") < names.index("Lee Chen")
    roles = [s.role for s, _ in client.get(URL, {"sort": "role"}).context["rows"]]
    assert roles == sorted(roles)
    earlier = timezone.now() - timezone.timedelta(days=2)
    SavedAccountFactory(seat=team["lee"], imported=True, imported_at=earlier)
    SavedLeadFactory(seat=team["jordan"], imported=True, imported_at=timezone.now())
    newest_first = _emails(client.get(URL, {"sort": "-last_import"}))
    assert newest_first[:2] == ["jordan@contoso.test", "lee@contoso.test"]
    oldest_first = _emails(client.get(URL, {"sort": "last_import"}))
    assert oldest_first[:2] == ["lee@contoso.test", "jordan@contoso.test"]
    # A seat's last import is its latest imported save, account or lead.
    SavedLeadFactory(seat=team["lee"], imported=True, imported_at=timezone.now())
    assert _emails(client.get(URL, {"sort": "-last_import"}))[0] == "lee@contoso.test"


def test_sort_headers_link_to_the_other_direction(login, admin, team):
    page = login(admin).get(URL, {"sort": "email", "q": "contoso"}).content.decode()
    assert 'aria-sort="ascending"' in page
    assert (
        'href="?sort=-email&amp;q=contoso"' in page or 'href="?q=contoso&amp;sort=-email"' in page
    )


def test_it_shows_each_seats_last_import_and_counts(login, admin, team):
    SavedAccountFactory.create_batch(
        2, seat=team["jordan"], imported=True, imported_at=timezone.now()
    )
    SavedLeadFactory(seat=team["jordan"], imported=True, imported_at=timezone.now())
    SavedLeadFactory(seat=team["jordan"])  # by hand: not counted
    rows = dict(login(admin).get(URL, {"q": "jordan"}).context["rows"])
    stats = rows[team["jordan"]]
    assert (stats.accounts, stats.leads) == (2, 1)
    assert stats.last_import is not None


def test_it_pages_fifty_seats_at_a_time(login, admin, contract):
    seats_bulk_create(contract, 120)
    client = login(admin)
    first = client.get(URL, {"sort": "email"})
    third = client.get(URL, {"sort": "email", "page": 3})
    assert len(first.context["rows"]) == 50
    assert len(third.context["rows"]) == 21
    assert "Page 1 of 3 · 121 in all" in first.content.decode()
    seen = set()
    for number in (1, 2, 3):
        seen |= set(_emails(client.get(URL, {"sort": "email", "page": number})))
    assert len(seen) == 121


def test_in_crm_filter_pages_over_the_whole_contract(login, admin, contract):
    CrmConnectionFactory(contract=contract)
    seats_bulk_create(contract, 300)
    # Auto sync is Yes (the default): every mapped seat an admin did not disable.
    expected = (
        Seat.objects.filter(contract=contract, crm_link__crm_user__isnull=False)
        .exclude(crm_sync="off")
        .count()
    )
    response = login(admin).get(URL, {"crm": "yes", "page": 2})
    assert response.context["page"].paginator.count == expected > 100
    assert len(response.context["rows"]) == 50
    assert all(seat.in_crm for seat, _ in response.context["rows"])


# Session, user, tenancy; settings, connection, seats in use; count, page; import figures.
QUERIES_PER_PAGE = 10


@pytest.mark.parametrize(
    "params",
    [{}, {"crm": "yes", "sort": "-last_import"}, {"q": "holder1", "mapping": "no", "page": 2}],
    ids=["plain", "in-crm-by-last-import", "search-not-matched-page-2"],
)
def test_a_page_costs_the_same_queries_at_10_and_2000_seats(
    login, admin, contract, django_assert_num_queries, params
):
    CrmConnectionFactory(contract=contract)
    CrmSettings.objects.create(contract=contract)
    client = login(admin)
    seats_bulk_create(contract, 9)
    with django_assert_num_queries(QUERIES_PER_PAGE):
        assert client.get(URL, params).status_code == 200
    seats_bulk_create(contract, 1991, start=9)
    with django_assert_num_queries(QUERIES_PER_PAGE):
        response = client.get(URL, params)
    assert len(response.context["rows"]) == 50


def test_the_select_all_box_counts_one_seat_in_the_singular(login, admin):
    page = login(admin).get(URL).content.decode()
    assert "The 1 seat, not only the ticked ones" in page


def test_the_seat_count_says_admin_only_seats_do_not_count(login, admin, admin_only, seat_holder):
    """ "2 of 25 purchased seats in use" beside three listed seats read like a miscount."""
    page = login(admin).get(URL).content.decode()
    assert "2 of 25 purchased seats in use (Admin and Seat holder roles)." in page
    assert "The 1 Admin only seat listed does not count" in page
