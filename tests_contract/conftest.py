"""The emulator over HTTPS and Microsoft's Dataverse SDK pointed at it, unmodified.

Runs in its own virtualenv (scripts/sdk_contract.sh) with PowerPlatform-Dataverse-Client,
azure-identity and pytest; nothing here imports the portal. The emulator is started with the
project's interpreter (`EMULATOR_PYTHON`) and a fresh demo org.

TLS: the SDK and azure-identity send through requests (azure-core's RequestsTransport), and this
machine sets REQUESTS_CA_BUNDLE, which requests prefers over any `verify` given to a session. So
the suite writes one bundle holding the public roots (certifi) plus the emulator's self-signed
CA and points REQUESTS_CA_BUNDLE and SSL_CERT_FILE at it for the whole session.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import certifi
import pytest
from azure.identity import ClientSecretCredential
from PowerPlatform.Dataverse.client import DataverseClient

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def org(tmp_path_factory):
    """The ready line of a demo org served over HTTPS on a free port."""
    python = os.environ.get("EMULATOR_PYTHON", sys.executable)
    folder = tmp_path_factory.mktemp("org")
    log = (folder / "emulator.log").open("w")
    process = subprocess.Popen(
        [python, "-m", "dynamics_emulator", "serve", "--data", str(folder / "org.db"),
         "--https", "--port", "0", "--size", "demo",
         "--service-protection", '{"enabled": false}'],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
    line = process.stdout.readline()
    if not line:
        process.wait(10)
        pytest.exit(f"the emulator did not start: {(folder / 'emulator.log').read_text()}")
    ready = json.loads(line)
    bundle = folder / "ca-bundle.pem"
    bundle.write_text(pathlib.Path(certifi.where()).read_text()
                      + pathlib.Path(ready["ca_cert"]).read_text())
    os.environ["REQUESTS_CA_BUNDLE"] = str(bundle)
    os.environ["SSL_CERT_FILE"] = str(bundle)
    yield ready
    process.terminate()
    process.wait(20)
    log.close()


@pytest.fixture(scope="session")
def credential(org):
    """azure-identity's client-secret credential, with the emulator as the authority."""
    return ClientSecretCredential(org["tenant"], org["client_id"], org["client_secret"],
                                  authority=org["base_url"], disable_instance_discovery=True)


@pytest.fixture(scope="session")
def client(org, credential):
    with DataverseClient(org["base_url"], credential) as dataverse:
        yield dataverse


@pytest.fixture
def control(org):
    """Plain requests to the emulator's /_emulator/ control endpoint (no auth)."""
    import requests

    session = requests.Session()
    session.verify = os.environ["REQUESTS_CA_BUNDLE"]

    def call(method: str, path: str, **kwargs):
        response = session.request(method, f"{org['control_url']}/{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    return call
