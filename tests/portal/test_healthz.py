import pytest
import redis
from django.urls import reverse
from django_q.brokers.redis_broker import Redis

from portal.tasks import HEARTBEAT

pytestmark = pytest.mark.django_db


def test_it_answers_200_when_database_and_broker_answer(client):
    response = client.get(reverse("portal:healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["database"] == {"ok": True}
    assert body["broker"] == {"ok": True}
    assert "worker_last_seen" in body


def test_it_answers_503_when_the_broker_is_down(client, monkeypatch):
    # django-q2's real Redis broker, pointed at a port where nothing listens.
    dead_server = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    monkeypatch.setattr(Redis, "get_connection", staticmethod(lambda list_key=None: dead_server))
    dead = Redis(list_key="healthz-test")
    monkeypatch.setattr("portal.views.get_broker", lambda: dead)
    response = client.get(reverse("portal:healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is False
    assert "ConnectionError" in body["broker"]["error"]


def test_it_answers_503_when_the_database_fails(client, monkeypatch):
    def broken_probe():
        raise RuntimeError("database unavailable")

    monkeypatch.setattr("portal.views._probe_database", broken_probe)
    response = client.get(reverse("portal:healthz"))
    assert response.status_code == 503
    assert response.json()["database"]["ok"] is False


def test_it_reports_the_last_worker_heartbeat(client):
    from django_q.tasks import async_task

    async_task(HEARTBEAT)  # sync mode in tests: runs now and records a Success
    assert client.get(reverse("portal:healthz")).json()["worker_last_seen"] is not None
