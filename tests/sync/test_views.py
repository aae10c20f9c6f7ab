"""The import's pages on CRM Settings: status, *Sync now*, history, one run, *Why not imported?*"""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sync.models import CrmAccount, CrmContact, SeatCrmUser, SyncProblem, SyncRun
from tests.factories import (
    CrmAccountFactory,
    CrmConnectionFactory,
    CrmContactFactory,
    CrmUserFactory,
    MemberFactory,
    SeatFactory,
    SyncRunFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def connected(contract):
    return CrmConnectionFactory(contract=contract)


def _status(client) -> str:
    response = client.get(reverse("sync:status"))
    assert response.status_code == 200
    return response.content.decode()


class TestStatus:
    def test_before_the_first_sync(self, login, admin, connected):
        # Long after connecting with no run at all (e.g. no worker ran): no endless polling.
        connected.connected_at = timezone.now() - timedelta(hours=1)
        connected.save()
        page = _status(login(admin))
        assert "No sync has finished yet" in page
        assert 'hx-trigger="every 2s"' not in page
        assert "Sync now" in page and reverse("sync:history") in page

    def test_the_first_sync_in_progress(self, login, admin, connected, contract):
        SyncRunFactory(
            contract=contract,
            state=SyncRun.State.RUNNING,
            phase="contact",
            progress_done=2,
            progress_total=5,
            counts={"contact": {"read": 5000}},
        )
        page = _status(login(admin))
        assert "Successfully connected, sync in progress" in page
        assert "Last date of sync" not in page
        assert 'hx-trigger="every 2s"' in page
        assert 'max="100" value="40"' in page
        assert "Reading contacts, 5000 rows read" in page

    def test_the_last_date_of_sync_and_the_last_error(self, login, admin, connected, contract):
        done = SyncRunFactory(contract=contract, finished_at=timezone.now())
        SyncRunFactory(
            contract=contract,
            state=SyncRun.State.FAILED,
            finished_at=timezone.now(),
            error_kind="privilege",
            error_detail="HTTP 403 code 0x80040220 table opportunities",
        )
        page = _status(login(admin))
        assert "Successfully connected, sync in progress" not in page
        assert "Last date of sync" in page and "No sync has finished yet" not in page
        assert "Your CRM account does not have sufficient access privileges." in page
        assert "Connect with your internal CRM administrator" in page
        assert "0x80040220" in page
        assert done.pk

    def test_crm_settings_loads_it(self, login, admin, connected):
        page = login(admin).get(reverse("crm_settings:index")).content.decode()
        assert f'hx-get="{reverse("sync:status")}"' in page


class TestSyncNow:
    def test_it_starts_a_sync(
        self, login, admin, connected, contract, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks() as callbacks:
            response = login(admin).post(reverse("sync:sync_now"))
        assert response.status_code == 302
        run = SyncRun.objects.get(contract=contract)
        assert (run.state, run.trigger) == (SyncRun.State.QUEUED, SyncRun.Trigger.MANUAL)
        assert len(callbacks) == 1

    def test_a_second_press_joins_the_running_sync(
        self, login, admin, connected, contract, django_capture_on_commit_callbacks
    ):
        SyncRunFactory(contract=contract, state=SyncRun.State.RUNNING, heartbeat_at=timezone.now())
        with django_capture_on_commit_callbacks():
            response = login(admin).post(reverse("sync:sync_now"), follow=True)
        assert "A sync is already in progress" in response.content.decode()
        assert SyncRun.objects.filter(contract=contract).count() == 1

    def test_htmx_gets_the_status_panel_back(
        self, login, admin, connected, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks():
            response = login(admin).post(reverse("sync:sync_now"), HTTP_HX_REQUEST="true")
        page = response.content.decode()
        assert 'id="sync-status-panel"' in page and "Waiting for a worker" in page

    def test_not_connected(self, login, admin):
        response = login(admin).post(reverse("sync:sync_now"), follow=True)
        assert "Connect to CRM before syncing." in response.content.decode()
        assert not SyncRun.objects.exists()


class TestHistoryAndRun:
    def test_history_pages_with_a_fixed_number_of_queries(
        self, login, admin, contract, django_assert_max_num_queries
    ):
        client = login(admin)
        SyncRunFactory.create_batch(10, contract=contract)
        with django_assert_max_num_queries(8) as few:
            client.get(reverse("sync:history"))
        SyncRunFactory.create_batch(120, contract=contract)
        with django_assert_max_num_queries(len(few.captured_queries)):
            page = client.get(reverse("sync:history")).content.decode()
        assert "Page 1 of 3" in page

    def test_a_run_shows_counts_and_problems(self, login, admin, contract):
        run = SyncRunFactory(
            contract=contract,
            counts={
                "contact": {"read": 400, "created": 390, "updated": 10, "removed": 2,
                            "unmatched": 145, "failed": 1, "how": "full read (first import)"},
                "saves": {"accounts_added": 66, "accounts_updated": 0, "accounts_removed": 0,
                          "leads_added": 54, "leads_updated": 0, "leads_removed": 0},
            },
        )  # fmt: skip
        SyncProblem.objects.bulk_create(
            SyncProblem(run=run, table="contact", crm_id=str(i), reason=f"Problem number {i}")
            for i in range(60)
        )
        page = login(admin).get(reverse("sync:run", args=[run.pk])).content.decode()
        assert "full read (first import)" in page and ">145<" in page
        assert "Saved Accounts: 66 added" in page
        assert "Problem number 0" in page and "Page 1 of 2" in page

    def test_another_contracts_run_is_not_found(self, login, admin, outsider):
        theirs = SyncRunFactory(contract=outsider.contract)
        assert login(admin).get(reverse("sync:run", args=[theirs.pk])).status_code == 404
        export = reverse("sync:run_problems_export", args=[theirs.pk])
        assert login(admin).get(export).status_code == 404

    @pytest.mark.parametrize("count", [3, 120])
    def test_a_runs_problems_are_exported_in_full(
        self, login, admin, contract, count, django_assert_max_num_queries
    ):
        run = SyncRunFactory(contract=contract)
        SyncRunFactory(contract=contract)  # another run's problems stay out
        SyncProblem.objects.bulk_create(
            SyncProblem(run=run, table="contact", crm_id=str(i), reason=f"=Problem {i}")
            for i in range(count)
        )
        client = login(admin)
        # Session, user, seat, the run; its problems (one query, streamed).
        with django_assert_max_num_queries(5):
            response = client.get(reverse("sync:run_problems_export", args=[run.pk]))
            body = b"".join(response.streaming_content).decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(body)))
        assert len(rows) == count
        assert (rows[0]["Table"], rows[0]["CRM id"], rows[0]["Problem"]) == (
            "contact", "0", "'=Problem 0",
        )  # fmt: skip
        assert f"sync-{run.pk}-problems" in response["Content-Disposition"]

    def test_seat_holders_may_not(self, login, seat_holder, contract):
        run = SyncRunFactory(contract=contract)
        assert login(seat_holder).get(reverse("sync:run", args=[run.pk])).status_code == 403


class TestRecords:
    def test_contacts_with_their_reasons(self, login, admin, contract, connected):
        CrmContactFactory(contract=contract, full_name="Una Matched", member=MemberFactory())
        CrmContactFactory(contract=contract, full_name="Ned Nomatch")
        page = login(admin).get(reverse("sync:records")).content.decode()
        assert "Una Matched" in page and "Ned Nomatch" in page
        assert "No open opportunity in the CRM has this contact." in page
        assert "Open in Dynamics" in page

    def test_search_and_the_unmatched_filter(self, login, admin, contract):
        CrmContactFactory(contract=contract, full_name="Una Matched", member=MemberFactory())
        CrmContactFactory(contract=contract, full_name="Ned Nomatch")
        client = login(admin)
        page = client.get(reverse("sync:records"), {"unmatched": "1"}).content.decode()
        assert "Ned Nomatch" in page and "Una Matched" not in page
        page = client.get(reverse("sync:records"), {"q": "una"}).content.decode()
        assert "Una Matched" in page and "Ned Nomatch" not in page

    def test_accounts_and_seats(self, login, admin, seat_holder, contract):
        CrmAccountFactory(contract=contract, name="Acme Unmatched")
        SeatCrmUser.objects.create(seat=seat_holder, reason="No CRM user has the email x.")
        client = login(admin)
        page = client.get(reverse("sync:records"), {"kind": "accounts"}).content.decode()
        assert "Acme Unmatched" in page
        page = client.get(reverse("sync:records"), {"kind": "seats"}).content.decode()
        assert "Not Matched: No CRM user has the email x." in page

    @pytest.mark.parametrize("kind", ["contacts", "accounts", "seats"])
    def test_a_fixed_number_of_queries_at_10_and_500_rows(
        self, login, admin, contract, connected, kind, django_assert_max_num_queries
    ):
        client = login(admin)
        owner = CrmUserFactory(contract=contract)

        def add(n):
            if kind == "contacts":
                members = MemberFactory.create_batch(n)
                CrmContact.objects.bulk_create(
                    CrmContactFactory.build(contract=contract, member=m) for m in members
                )
            elif kind == "accounts":
                CrmAccount.objects.bulk_create(CrmAccountFactory.build_batch(n, contract=contract))
            else:
                seats = SeatFactory.create_batch(n, contract=contract)
                SeatCrmUser.objects.bulk_create(
                    SeatCrmUser(seat=seat, crm_user=owner) for seat in seats
                )

        add(10)
        with django_assert_max_num_queries(20) as few:
            client.get(reverse("sync:records"), {"kind": kind})
        add(490)
        with django_assert_max_num_queries(len(few.captured_queries)):
            page = client.get(reverse("sync:records"), {"kind": kind}).content.decode()
        assert "Page 1 of" in page


def test_the_status_keeps_asking_until_the_first_sync_reaches_a_worker(login, admin, connected):
    """Right after connecting, the first import's run does not exist yet (a worker creates it):
    the panel must poll anyway, or the admin would never see the sync start."""
    page = _status(login(admin))
    assert 'hx-trigger="every 2s"' in page
    assert "The first sync is queued" in page
    assert "Successfully connected, sync in progress" in page

    SyncRunFactory(
        contract=connected.contract, state=SyncRun.State.SUCCEEDED, finished_at=timezone.now()
    )
    page = _status(login(admin))
    assert 'hx-trigger="every 2s"' not in page
    assert "The first sync is queued" not in page
