"""An export's memory does not grow with its rows: it streams chunks, never the whole file
(``bench/csv_bench.py`` prints the figures at 100,000 rows)."""

import tracemalloc
import uuid

import pytest
from django.urls import reverse

from sync.models import CrmContact

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _fill(contract, start: int, stop: int) -> None:
    CrmContact.objects.bulk_create(
        CrmContact(
            contract=contract, crm_id=uuid.uuid4(), full_name=f"Person {n:06d}",
            last_name=f"{n:06d}", email=f"person{n}@example.test", job_title="Buyer",
        )
        for n in range(start, stop)
    )  # fmt: skip


def _peak_and_size(client) -> tuple[int, int]:
    tracemalloc.start()
    tracemalloc.reset_peak()
    baseline, _ = tracemalloc.get_traced_memory()
    response = client.get(reverse("reports:matches_csv"))
    size = sum(len(chunk) for chunk in response.streaming_content)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - baseline, size


def test_eight_times_the_rows_take_about_the_same_memory(login, admin, contract):
    client = login(admin)
    # Several chunks of rows (exports.CHUNK_SIZE), after one untraced export (first-use caches).
    _fill(contract, 0, 5_000)
    b"".join(client.get(reverse("reports:matches_csv")).streaming_content)
    small_peak, small_size = _peak_and_size(client)
    _fill(contract, 5_000, 40_000)
    big_peak, big_size = _peak_and_size(client)

    assert big_size > 7 * small_size
    assert big_peak < 2 * small_peak, (small_peak, big_peak)  # not 8 times
    assert big_peak < big_size, "an export never holds its whole file"
