import pytest

from network.models import SavedAccount, SavedLead
from sync.models import CrmAccount, CrmContact, CrmOpportunity, CrmUser

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]


def test_smoke(connected, run_sync):
    run = run_sync(connected)
    print(run.state, run.error_kind, run.error_detail, run.requests)
    print(run.counts)
    print(CrmUser.objects.count(), CrmAccount.objects.count(), CrmContact.objects.count(), CrmOpportunity.objects.count())
    print(SavedAccount.objects.count(), SavedLead.objects.count())
    print(list(run.problems.values_list("table", "reason")[:10]))
    run2 = run_sync(connected)
    print(run2.state, run2.requests, run2.counts, run2.error_detail)
    assert 0
