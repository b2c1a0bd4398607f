"""Browser tests: Playwright driving Debian's Chromium against the live server.

Run with the rest of the suite when Playwright and /usr/bin/chromium are installed
(``make test`` installs Chromium when missing); skipped otherwise, with the reason.
Every test saves screenshots under ``test-artifacts/browser/`` (not committed).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
# Chromium on a machine without a network: no background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

if sync_playwright is None or not os.path.exists(CHROMIUM):
    pytest.skip(
        "browser tests need Playwright (pip install -e '.[dev]') and Debian's chromium "
        f"at {CHROMIUM} (make test installs it)",
        allow_module_level=True,
    )

# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls
# from such a thread unless told that this is intended.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server, request) -> Iterator[Page]:
    """A fresh browser context (no cookies) whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def shot(request):
    """``shot(page, "consent")`` saves test-artifacts/browser/<test>-consent.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def save(page: Page, name: str) -> Path:
        path = ARTIFACTS / f"{test_name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture
def sign_in():
    """``sign_in(page, "alice", "pw")`` fills Django's login form on the current page."""

    def fill(page: Page, username: str, password: str) -> None:
        page.get_by_label(re.compile("username", re.I)).fill(username)
        page.get_by_label(re.compile("password", re.I)).fill(password)
        page.get_by_role("button", name=re.compile("log ?in|sign ?in", re.I)).click()

    return fill
