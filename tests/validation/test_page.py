"""The Data validation page against the emulator's demo org: who sees which flags, filters,
export, *Dismiss* until the data changes, and *Create a follow-up task in CRM* exactly once.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sync.models import ContactFlag, FlagReason
from tests.sync.deals import ALEX
from writeback.models import FollowUp, OutboxEntry, OutboxState
from writeback.tasks import drain_outbox

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]
ADMIN = "admin@contoso-demo.com"
OTHER_REP = "sam.lee@contoso-demo.com"


def _seat(contract, email):
    return contract.seats.select_related("user").get(user__email=email)


def _page(client, seat, **params):
    client.force_login(seat.user)
    response = client.get(reverse("validation:flags"), params)
    assert response.status_code == 200
    return response


def _shown(response) -> set[int]:
    return {flag.pk for flag in response.context["page"].object_list}


def test_admins_see_every_flag_and_a_seat_holder_their_own_leads(team, connected, client):
    zoe, yan = team["flags"]["Zoe"], team["flags"]["Yan"]
    admin = _page(client, _seat(connected, ADMIN))
    assert {zoe.pk, yan.pk} <= _shown(admin)
    assert "Zoe Zed’s email address is at old-employer.example" in admin.content.decode()
    assert _shown(_page(client, _seat(connected, ALEX))) == {zoe.pk}
    other = _page(client, _seat(connected, OTHER_REP))
    assert zoe.pk not in _shown(other) and yan.pk not in _shown(other)
    # Another seat holder's flag is not theirs to dismiss: 404, as for another contract's.
    response = client.post(reverse("validation:dismiss", args=[zoe.pk]))
    assert response.status_code == 404


def test_it_hides_other_contracts_objects(team, client, outsider):
    client.force_login(outsider.user)
    assert _shown(_page(client, outsider)) == set()
    for name in ("dismiss", "show_again", "follow_up"):
        response = client.post(reverse(f"validation:{name}", args=[team["flags"]["Zoe"].pk]))
        assert response.status_code == 404, name


def test_the_list_filters_by_reason_and_owner_searches_and_sorts(team, connected, client):
    admin = _seat(connected, ADMIN)
    zoe, yan = team["flags"]["Zoe"], team["flags"]["Yan"]
    alex = _seat(connected, ALEX)
    assert _shown(_page(client, admin, owner=alex.pk)) == {zoe.pk}
    assert _shown(_page(client, admin, reason=FlagReason.NO_POSITION)) & {zoe.pk, yan.pk} == set()
    assert {zoe.pk, yan.pk} <= _shown(_page(client, admin, reason=FlagReason.EMAIL_DOMAIN))
    assert _shown(_page(client, admin, q="yan yu")) == {yan.pk}
    assert _shown(_page(client, admin, q="zeta test", sort="contact")) == {yan.pk, zoe.pk}
    ordered = [f.pk for f in _page(client, admin, q="zeta", sort="-contact").context["page"]]
    assert ordered == [zoe.pk, yan.pk]
    # A value that is not one of the choices is ignored, never a 500.
    assert {zoe.pk, yan.pk} <= _shown(_page(client, admin, owner="nobody", reason="odd"))


def test_a_page_view_computes_nothing_and_costs_the_same_at_any_size(
    team, connected, client, django_assert_max_num_queries
):
    admin = _seat(connected, ADMIN)
    client.force_login(admin.user)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("validation:flags"))
    writes = [q["sql"] for q in queries if q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []
    few = len(queries)
    for contact in ContactFlag.objects.filter(contract=connected).select_related("contact")[:1]:
        for reason in (FlagReason.NO_POSITION, FlagReason.NOT_AT_COMPANY):
            ContactFlag.objects.create(
                contract=connected, contact=contact.contact, reason=reason, detail="d",
                inputs="i", updated_at=contact.updated_at,
            )  # fmt: skip
    with django_assert_max_num_queries(few):
        client.get(reverse("validation:flags"))


def test_export_csv_has_the_filtered_flags(team, connected, client):
    client.force_login(_seat(connected, ADMIN).user)
    response = client.get(reverse("validation:flags_csv"), {"q": "zeta"})
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Contact,Email,Account,Network member,Reason,Details")
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["Yan Yu", "Zoe Zed"]


def test_dismiss_is_remembered_until_the_flagged_data_changes(
    team, crm, connected, client, run_sync
):
    alex = _seat(connected, ALEX)
    zoe = team["flags"]["Zoe"]
    client.force_login(alex.user)
    response = client.post(reverse("validation:dismiss", args=[zoe.pk]), {"query": "sort=contact"})
    assert response.status_code == 302
    assert response.url == reverse("validation:flags") + "?sort=contact"
    assert zoe.pk not in _shown(_page(client, alex))
    assert zoe.pk in _shown(_page(client, alex, dismissed="yes"))
    # An import that changes nothing of hers leaves it dismissed...
    crm.patch_row("contacts", team["contacts"]["Zoe"], jobtitle="Head of Testing")
    run_sync(connected)
    assert zoe.pk not in _shown(_page(client, alex))
    # ...one that changes the flagged data brings it back.
    crm.patch_row("contacts", team["contacts"]["Zoe"], emailaddress1="zoe@another.example")
    run_sync(connected)
    assert zoe.pk in _shown(_page(client, alex))


def test_a_follow_up_task_is_written_to_the_crm_once(team, crm, connected, client):
    """GIVEN Zoe flagged, Alex's Lead
    WHEN an admin selects *Create a follow-up task in CRM* twice, the outbox drains, and Alex
    selects it once more
    THEN one task exists in the CRM: open, regarding Zoe's contact, owned by Alex's CRM user."""
    admin, alex = _seat(connected, ADMIN), _seat(connected, ALEX)
    zoe = team["flags"]["Zoe"]
    client.force_login(admin.user)
    url = reverse("validation:follow_up", args=[zoe.pk])
    first = client.post(url, {"seat": alex.pk}, follow=True)
    assert "Follow-up task created for alex.morgan@contoso-demo.com about Zoe Zed" in (
        first.content.decode()
    )
    second = client.post(url, {"seat": alex.pk}, follow=True)
    assert "no second task was made" in second.content.decode()
    assert FollowUp.objects.count() == OutboxEntry.objects.filter(follow_up__isnull=False).count()
    assert FollowUp.objects.count() == 1
    drain_outbox(connected.pk)
    client.force_login(alex.user)
    client.post(url)
    entry = OutboxEntry.objects.get(follow_up__isnull=False)
    assert entry.state == OutboxState.SENT, entry.last_error_detail
    assert entry.written_open is False  # not an unresolved item
    tasks = crm.rows("tasks", filter=f"_regardingobjectid_value eq {team['contacts']['Zoe']}")
    assert [task["activityid"] for task in tasks] == [str(entry.activity_id)]
    task = tasks[0]
    assert task["statecode"] == 0
    assert task["subject"] == "Check the CRM data of Zoe Zed"
    assert "Email domain differs from website" in task["description"]
    assert task["_ownerid_value"] == str(alex.crm_link.crm_user.crm_id)
    page = _page(client, alex)
    assert "View the task in your CRM" in page.content.decode()


def test_a_follow_up_needs_an_owner_and_a_flag(team, connected, client):
    admin, other = _seat(connected, ADMIN), _seat(connected, OTHER_REP)
    client.force_login(admin.user)
    yan, zoe = team["flags"]["Yan"], team["flags"]["Zoe"]
    response = client.post(reverse("validation:follow_up", args=[zoe.pk]), {"seat": other.pk})
    assert response.status_code == 302
    page = client.get(response.url)
    assert "does not hold Zoe Zed as a Lead" in page.content.decode()
    response = client.post(reverse("validation:follow_up", args=[yan.pk]), {"seat": "x"})
    assert response.status_code == 302
    assert FollowUp.objects.count() == 0
