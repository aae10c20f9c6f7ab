"""The reports and every CSV export read the database only: not one request to Dynamics, even
for a connected contract."""

import pytest
from django.urls import reverse

from tests.factories import SyncRunFactory

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]

PAGES = [
    "reports:won_revenue", "reports:won_revenue_csv", "reports:matches", "reports:matches_csv",
    "reports:audit", "reports:audit_csv", "seats:export", "writeback:unresolved_export",
]  # fmt: skip


def test_no_report_or_export_asks_dynamics(crm_contract, client, dynamics):
    run = SyncRunFactory(contract=crm_contract)
    dynamics.reset_stats()
    for name in PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        if response.streaming:
            b"".join(response.streaming_content)  # the rows are read while the body is sent
    client.get(reverse("sync:run_problems_export", args=[run.pk]))
    assert dynamics.stats()["by_kind"].get("api", 0) == 0
