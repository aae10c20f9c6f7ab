"""Fixtures for the emulator's own tests: the emulator process and an authenticated API helper."""

from __future__ import annotations

import pytest
import requests

from tests import emulator_fixtures
from tests.emulator_fixtures import DEMO_DOMAIN, RunningEmulator

# Fixtures from the shared module, registered here for this directory.
emulator = emulator_fixtures.emulator
emulator_clean = emulator_fixtures.emulator_clean
emulator_factory = emulator_fixtures.emulator_factory

APP_EMAIL = f"portal-integration-app@{DEMO_DOMAIN}"


class Api:
    """Plain requests against /api/data/v9.2/ with a bearer token and Dataverse's headers."""

    def __init__(self, running: RunningEmulator, token: str):
        self.emulator = running
        self.session = running.session()
        self.token = token
        self.base = running.api_url

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path.lstrip("/")

    def headers(self, prefer: str | None = None, **extra) -> dict:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json",
                   "OData-MaxVersion": "4.0", "OData-Version": "4.0", "If-None-Match": "null"}
        if prefer:
            headers["Prefer"] = prefer
        headers.update({key.replace("_", "-"): value for key, value in extra.items()})
        return headers

    def request(self, method: str, path: str, *, prefer: str | None = None,
                headers: dict | None = None, **kwargs) -> requests.Response:
        all_headers = self.headers(prefer)
        all_headers.update(headers or {})
        return self.session.request(method, self.url(path), headers=all_headers, timeout=60,
                                    **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json=None, **kwargs) -> requests.Response:
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path: str, json=None, **kwargs) -> requests.Response:
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def all_pages(self, path: str, *, prefer: str | None = None) -> tuple[list, list, dict]:
        """Follow nextLinks; returns (rows, page sizes, last page body)."""
        rows, sizes, url = [], [], path
        while True:
            response = self.get(url, prefer=prefer)
            assert response.status_code == 200, response.text
            body = response.json()
            rows += body["value"]
            sizes.append(len(body["value"]))
            url = body.get("@odata.nextLink")
            if not url:
                return rows, sizes, body


@pytest.fixture
def api(emulator) -> Api:
    """The API as the portal's application user (all privileges, may impersonate)."""
    return Api(emulator, emulator.token(APP_EMAIL))


@pytest.fixture
def api_as(emulator):
    """`api_as("alex.morgan@contoso-demo.com")`: the API as that user."""
    def make(email: str, running: RunningEmulator | None = None) -> Api:
        running = running or emulator
        return Api(running, running.token(email))
    return make


def error_of(response: requests.Response) -> dict:
    """The {"code", "message"} of a Dataverse error answer."""
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]
