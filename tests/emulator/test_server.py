"""The process: CLI, ready line, TLS, data file reuse, robustness against bad clients."""

from __future__ import annotations

import concurrent.futures
import json
import os
import socket
import ssl
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
import requests

from tests.emulator_fixtures import REPO_ROOT

from .conftest import Api

pytestmark = pytest.mark.emulator


def _raw_exchange(emulator, payload: bytes) -> bytes:
    """Send raw bytes over TLS and return whatever comes back."""
    split = urllib.parse.urlsplit(emulator.base_url)
    context = ssl.create_default_context(cafile=emulator.ca_cert)
    with socket.create_connection((split.hostname, split.port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=split.hostname) as tls:
        tls.sendall(payload)
        chunks = []
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def test_ready_line_has_what_clients_need(emulator):
    ready = emulator.ready
    assert ready["ready"] is True
    assert ready["base_url"].startswith("https://127.0.0.1:")
    assert ready["control_url"] == ready["base_url"] + "/_emulator"
    assert ready["client_id"] == "crm-sync-portal-demo"
    assert ready["client_secret"] == "demo-secret-not-for-production"
    assert Path(ready["ca_cert"]).is_absolute() and ready["ca_cert"].endswith(".ca.pem")
    assert len(ready["tenant"]) == 36


def test_garbage_on_the_wire_gets_a_json_400_and_the_server_lives_on(emulator):
    answer = _raw_exchange(emulator, b"THIS IS NOT HTTP\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert "error" in json.loads(body)
    assert emulator.health()


def test_bad_content_length_and_hangups_do_not_hurt(emulator):
    answer = _raw_exchange(emulator, b"POST /api/data/v9.2/tasks HTTP/1.1\r\nHost: x\r\n"
                                     b"Content-Length: nope\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    split = urllib.parse.urlsplit(emulator.base_url)
    for _ in range(5):  # connect and vanish, with and without a handshake
        with socket.create_connection((split.hostname, split.port), timeout=5) as raw:
            raw.sendall(b"\x16\x03\x01")
    untrusting = requests.Session()
    untrusting.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        untrusting.get(emulator.base_url + "/_emulator/health", timeout=5)
    assert emulator.health()


def test_concurrent_readers(emulator):
    token = emulator.token()

    def read(page_size: int) -> int:
        api = Api(emulator, token)
        rows, _, _ = api.all_pages("contacts?$select=fullname",
                                   prefer=f"odata.maxpagesize={page_size}")
        return len(rows)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(read, [250, 300, 350, 400, 450, 500, 550, 600]))
    assert len(set(counts)) == 1 and counts[0] >= 2000


def test_sigterm_stops_cleanly_and_the_data_file_is_reused(emulator_factory, tmp_path):
    data = tmp_path / "reused.db"
    first = emulator_factory(data_path=data, size="demo")
    created = first.create_opportunity(name="Survives a restart")
    certificate = Path(first.ca_cert).read_text()
    assert first.stop() == 0
    second = emulator_factory(data_path=data, size="demo")
    assert second.tenant == first.tenant
    assert second.row("opportunities", created["opportunityid"])["name"] == "Survives a restart"
    assert Path(second.ca_cert).read_text() == certificate  # the certificate is reused while valid
    assert second.log().count("seeding a demo org") == 1


def test_seed_command_builds_a_file_once(tmp_path):
    data = tmp_path / "seeded.db"
    environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    command = [sys.executable, "-m", "dynamics_emulator", "seed", "--data", str(data),
               "--size", "demo", "--seed-number", "9"]
    first = subprocess.run(command, capture_output=True, text=True, env=environment,
                           cwd=REPO_ROOT, check=True)
    report = json.loads(first.stdout)
    assert report["seeded"] is True and report["rows"] > 800 and report["seed"] == 9
    again = subprocess.run(command, capture_output=True, text=True, env=environment,
                           cwd=REPO_ROOT, check=True)
    assert json.loads(again.stdout)["seeded"] is False


def test_plain_http_mode(emulator_factory):
    org = emulator_factory(size="demo", https=False)
    assert org.base_url.startswith("http://") and org.ca_cert is None
    assert Api(org, org.token()).get("WhoAmI").status_code == 200


def test_unknown_paths_and_methods(emulator, api):
    assert emulator.http.get(emulator.base_url + "/nothing-here").status_code == 404
    response = api.request("PUT", "accounts")
    assert response.status_code == 405
    # A routing-level answer from the web stack: Dataverse's error shape, no Dataverse code.
    assert response.json()["error"] == {
        "code": "", "message": "The requested resource does not support http method 'PUT'."}
    root = emulator.http.get(emulator.base_url + "/").json()
    assert root["tenant"] == emulator.tenant
