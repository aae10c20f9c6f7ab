"""``/readyz``: ready when the database, the shared cache, the task broker and a worker answer;
503 naming, in words, each part that does not. ``/healthz`` (liveness) does not wait for a
worker."""

from datetime import timedelta

import pytest
import redis
from django.urls import reverse
from django_q.brokers.redis_broker import Redis
from django_q.tasks import async_task

from portal.tasks import HEARTBEAT

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker_alive():
    async_task(HEARTBEAT)  # sync mode in tests: runs now and records a Success


def test_it_is_ready_when_every_part_and_a_worker_answer(client, worker_alive):
    response = client.get(reverse("portal:readyz"))
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["database"] == body["cache"] == body["broker"] == {"ok": True}
    assert body["worker"]["ok"] is True and body["worker"]["last_seen"]


def test_without_any_worker_it_is_not_ready_and_says_so(client):
    response = client.get(reverse("portal:readyz"))
    assert response.status_code == 503
    assert response.json()["worker"] == {
        "ok": False, "error": "No worker has run the heartbeat yet.", "last_seen": None,
    }  # fmt: skip
    # Liveness is another question: the web process itself is fine.
    assert client.get(reverse("portal:healthz")).status_code == 200


def test_a_worker_silent_for_five_minutes_makes_it_not_ready(client, worker_alive, time_machine):
    time_machine.move_to(timedelta(minutes=4), tick=False)
    assert client.get(reverse("portal:readyz")).status_code == 200
    time_machine.move_to(timedelta(minutes=2), tick=False)
    response = client.get(reverse("portal:readyz"))
    assert response.status_code == 503
    worker = response.json()["worker"]
    assert worker["error"] == "No worker has run the heartbeat in the last 5 minutes."
    assert worker["last_seen"] is not None


def test_a_broker_that_does_not_answer_is_named(client, worker_alive, monkeypatch):
    dead_server = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    monkeypatch.setattr(Redis, "get_connection", staticmethod(lambda list_key=None: dead_server))
    monkeypatch.setattr("portal.views.get_broker", lambda: Redis(list_key="readyz-test"))
    response = client.get(reverse("portal:readyz"))
    assert response.status_code == 503
    body = response.json()
    assert body["broker"] == {"ok": False, "error": "The task broker did not answer."}
    assert body["worker"]["ok"] is True
    assert "127.0.0.1" not in response.content.decode()


def test_without_the_database_the_worker_cannot_be_read_either(client, monkeypatch):
    def broken_probe():
        raise RuntimeError("connection refused at db.internal")

    monkeypatch.setattr("portal.views._probe_database", broken_probe)
    body = client.get(reverse("portal:readyz")).json()
    assert body["database"] == {"ok": False, "error": "The database did not answer."}
    assert body["worker"] == {
        "ok": False, "error": "The worker heartbeat could not be read from the database.",
    }  # fmt: skip


def test_it_answers_plain_http_with_the_redirect_on(client, settings, worker_alive):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(reverse("portal:readyz")).status_code == 200
