"""What the browser tests share: a live server over plain HTTP, a page in Debian's Chromium
that fails the test if it requests anything outside the server (no CDN, nothing from the
internet), signing in through the login form, and the folder the screenshots go to.

Playwright drives /usr/bin/chromium (scripts/ensure-chromium installs it); it never downloads a
browser of its own."""

from pathlib import Path

import pytest
from django.db import connections
from django.test.utils import override_settings
from playwright.sync_api import sync_playwright
from pytest_django.live_server_helper import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# The password tests.factories gives every user.
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def live_server(django_db_setup):
    """pytest-django's live server, always over plain HTTP.

    The security middleware reads SECURE_SSL_REDIRECT and SECURE_HSTS_SECONDS once, when the
    server builds its handler: they are off while it starts, whatever the environment says, and
    as configured for every other test. Started after the test database exists, the server
    stops (closing its connection) before that database is dropped."""
    with override_settings(SECURE_SSL_REDIRECT=False, SECURE_HSTS_SECONDS=0):
        server = LiveServer("localhost")
    yield server
    server.stop()


@pytest.fixture
def artifacts():
    """The folder (test-artifacts/ at the top of the project) the screenshots are saved in."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def browser_page(monkeypatch, settings):
    """A page in headless Chromium, closed with the browser after the test; the test fails if
    the page requested anything but the live server."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run scripts/ensure-chromium"
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # beside it are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # The live server speaks plain HTTP.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.set_default_timeout(15_000)
        offsite = []
        page.on(
            "request",
            lambda request: (
                offsite.append(request.url)
                if not request.url.startswith(("http://localhost", "data:", "blob:"))
                else None
            ),
        )
        try:
            yield page
        finally:
            browser.close()
            # What the test read while Playwright's event loop ran went through a connection of
            # its own; close it, or the test database cannot be dropped afterwards.
            connections.close_all()
        assert offsite == [], f"the page reached outside the server: {offsite}"


@pytest.fixture
def sign_in():
    """Signs a user in on a page through the login form, which then opens `next_path` (the
    review queue unless told): sign_in(page, live_server.url, "rita")."""

    def sign(page, base_url, username, next_path="/review/"):
        page.goto(f"{base_url}/accounts/login/?next={next_path}")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        with page.expect_navigation():
            page.click("form button[type=submit]")

    return sign
