"""``/healthz``: 200 when every part answers, 503 naming the part that does not, in words only
(it needs no sign-in; the exception's text goes to the log)."""

import logging

import pytest
import redis
from django.urls import reverse
from django_q.brokers.redis_broker import Redis

from portal.tasks import HEARTBEAT

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"


def test_it_answers_200_when_database_and_broker_answer(client):
    response = client.get(reverse("portal:healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["database"] == {"ok": True}
    assert body["cache"] == {"ok": True}
    assert body["broker"] == {"ok": True}
    assert "worker_last_seen" in body


def test_it_answers_503_when_the_broker_is_down(client, monkeypatch, caplog):
    # django-q2's real Redis broker, pointed at a port where nothing listens.
    dead_server = redis.Redis.from_url(DEAD_REDIS, socket_connect_timeout=1)
    monkeypatch.setattr(Redis, "get_connection", staticmethod(lambda list_key=None: dead_server))
    dead = Redis(list_key="healthz-test")
    monkeypatch.setattr("portal.views.get_broker", lambda: dead)
    response = client.get(reverse("portal:healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert body["database"]["ok"] is True
    assert body["broker"] == {"ok": False, "error": "The task broker did not answer."}
    assert "127.0.0.1" not in response.content.decode()
    assert "Error 111 connecting to 127.0.0.1:1" in caplog.text


def test_it_answers_503_when_the_shared_cache_is_down(client, settings, caplog):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": DEAD_REDIS,
        },
    }
    response = client.get(reverse("portal:healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["cache"] == {"ok": False, "error": "The shared cache did not answer."}
    assert body["database"] == {"ok": True}
    assert "Error 111" not in response.content.decode()
    assert "health check cache failed" in caplog.text


def test_it_answers_503_when_the_database_fails_and_keeps_the_reason_in_the_log(
    client, monkeypatch, caplog
):
    def broken_probe():
        raise RuntimeError('password authentication failed for user "portal" at db.internal')

    monkeypatch.setattr("portal.views._probe_database", broken_probe)
    with caplog.at_level(logging.WARNING, logger="portal.views"):
        response = client.get(reverse("portal:healthz"))
    assert response.status_code == 503
    assert response.json()["database"] == {"ok": False, "error": "The database did not answer."}
    assert "password" not in response.content.decode()
    assert "db.internal" not in response.content.decode()
    assert 'password authentication failed for user "portal"' in caplog.text


def test_it_reports_the_last_worker_heartbeat(client):
    from django_q.tasks import async_task

    async_task(HEARTBEAT)  # sync mode in tests: runs now and records a Success
    assert client.get(reverse("portal:healthz")).json()["worker_last_seen"] is not None
