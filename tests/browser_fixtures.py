"""Debian's chromium driven by Playwright, for any test that needs a real browser.

- Without /usr/bin/chromium, tests marked ``browser`` are skipped, unless REQUIRE_BROWSER=1 (CI),
  where a missing browser fails them.
- Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from such a
  thread unless DJANGO_ALLOW_ASYNC_UNSAFE is set, which these fixtures do (research/deps.md §5).
"""

import os
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = "/usr/bin/chromium"
# The machine's network is closed: without these flags chromium keeps trying to reach Google.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists() or os.environ.get("REQUIRE_BROWSER") == "1":
        return  # without chromium under REQUIRE_BROWSER, the browser fixture fails loudly
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed (apt-get install chromium)")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


@pytest.fixture
def browser(monkeypatch):
    """A chromium started for this test only.

    Per test, not per session: Playwright keeps an event loop running in this thread while it
    is open, which would change how every later test's database connections behave.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
        # While the loop ran, Django gave the test's queries connections of their own; close
        # them here, or PostgreSQL could not drop the test database at the end of the session.
        connections.close_all()


@pytest.fixture
def page(browser, request):
    """A fresh browser tab; fails the test on any console error or uncaught page error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on(
        "console",
        lambda msg: (
            errors.append(f"{msg.text} ({msg.location.get('url', '')})")
            if msg.type == "error"
            else None
        ),
    )
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.console_errors = errors
    yield tab
    context.close()
    assert errors == [], f"console errors: {errors}"


def login_page(page, live_server, user):
    """Sign ``user`` in on ``page`` without the login form (a session cookie from the test
    client), for tests about other pages."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return page
