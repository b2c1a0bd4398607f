"""The pages a person sees, in Chromium: they fit a phone and a desktop, keep a sensible
focus order, and stay readable (WCAG AA contrast) in light and dark mode."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

import pytest

from oauthkit.testing.factories import ClientFactory
from tests.helpers import authorize_params, pkce_pair

EXAMPLE_TEMPLATES = Path(__file__).resolve().parents[2] / "example_project" / "templates"
UNKNOWN_CLIENT = "/o/authorize/?response_type=code&client_id=nobody&state=s"

# The colour of an element's text and of the first opaque background behind it.
COLOURS_JS = """(el) => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  let bg = el, colour = rgb(getComputedStyle(el).color);
  while (bg) {
    const c = rgb(getComputedStyle(bg).backgroundColor);
    if (c.length === 3 || c[3] === 1) return [colour, c.slice(0, 3)];
    bg = bg.parentElement;
  }
  return [colour, [255, 255, 255]];
}"""


def contrast(page, selector: str) -> float:
    """WCAG 2.1 contrast ratio of the first element matching ``selector``."""

    def luminance(rgb) -> float:
        def channel(value: float) -> float:
            c = value / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (channel(v) for v in rgb[:3])
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    text, background = page.locator(selector).first.evaluate(COLOURS_JS)
    lighter, darker = sorted((luminance(text), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def fits_the_width(page) -> bool:
    """Nothing sticks out sideways: no horizontal scrolling of the page."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def active_element(page) -> str:
    return page.evaluate(
        "document.activeElement.name || document.activeElement.id || "
        "document.activeElement.className"
    )


@pytest.fixture
def example_login_page(settings):
    """The example project's login page (it extends the provider's base template)."""
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [EXAMPLE_TEMPLATES, *settings.TEMPLATES[0]["DIRS"]]}
    ]


@pytest.mark.parametrize("width,height", [(320, 640), (375, 700), (1280, 800)])
def test_error_page_fits_phones_and_desktops(page, shot, width, height):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(UNKNOWN_CLIENT)
    heading = page.get_by_role("heading", level=1)
    assert "cannot be completed" in heading.inner_text()
    assert page.get_by_role("alert").is_visible()
    assert fits_the_width(page)
    # The card fills a phone's width and stays a readable column on a desktop.
    card_width = page.locator("main").bounding_box()["width"]
    assert card_width == width if width < 544 else card_width < 560
    for selector in ("h1", "main .muted", ".error p"):
        assert contrast(page, selector) >= 4.5, selector
    shot(page, f"error-{width}")


def test_dark_mode(page, shot):
    page.emulate_media(color_scheme="dark")
    page.goto(UNKNOWN_CLIENT)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(14, 17, 22)"
    for selector in ("h1", "main .muted", ".error p", ".site-header"):
        assert contrast(page, selector) >= 4.5, selector
    shot(page, "error-dark")


def test_login_page_focus_order(page, shot, example_login_page):
    """Tab goes username → password → the button; the skip link comes first and jumps
    to the main content."""
    page.goto("/accounts/login/?next=/o/authorize/")
    assert active_element(page) == "username"  # autofocus
    page.keyboard.press("Tab")
    assert active_element(page) == "password"
    page.keyboard.press("Tab")
    button = page.evaluate("document.activeElement.outerHTML")
    assert re.search(r"<button[^>]*>\s*Sign in", button), button
    focus_ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert focus_ring == "solid"
    assert contrast(page, "button.primary") >= 4.5
    shot(page, "login-focused-button")

    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    shot(page, "login-skip-link")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"


def test_login_page_shows_a_failed_sign_in(page, shot, example_login_page, sign_in, user):
    page.set_viewport_size({"width": 375, "height": 700})
    page.goto("/accounts/login/")
    sign_in(page, "alice", "wrong")
    assert page.get_by_role("alert").is_visible()
    assert fits_the_width(page)
    shot(page, "login-error-375")


def test_forms_on_the_pages_pass_the_csrf_origin_check(
    page, shot, example_login_page, sign_in, user
):
    """Sign in, allow, sign out: each a POST from a page on base.html. A page whose
    referrer policy is no-referrer makes Chromium send ``Origin: null``, which Django's
    CSRF check rejects with a 403; base.html's same-origin policy avoids that."""
    client = ClientFactory(name="Example App")
    # The client's redirect URI answers from here: the machine has no network.
    page.route("https://client.example.com/**", lambda route: route.fulfill(body="client"))
    page.emulate_media(color_scheme="dark")
    page.goto(f"/o/authorize/?{urlencode(authorize_params(client, pkce_pair()[1]))}")
    sign_in(page, "alice", "password")
    assert "Example App" in page.get_by_role("heading", level=1).inner_text()
    shot(page, "consent-dark")
    page.get_by_role("button", name="Allow").click()
    # Loaded, not just requested: a navigation started before it ends would abort it.
    page.wait_for_url(re.compile(r"https://client\.example\.com/callback\?code="))
    assert page.inner_text("body") == "client"

    page.goto("/o/end_session/")
    assert contrast(page, "button.primary") >= 4.5
    assert contrast(page, "main .muted") >= 4.5
    shot(page, "logout-confirm-dark")
    page.get_by_role("button", name="Sign out").click()
    assert "signed out" in page.get_by_role("heading", level=1).inner_text()


@pytest.mark.urls("example_project.urls")
@pytest.mark.parametrize("width", [375, 1280])
def test_example_home_page(page, shot, settings, example_login_page, width):
    settings.INSTALLED_APPS = [
        *settings.INSTALLED_APPS,
        "example_project.demo",
        "example_project.api",
    ]
    page.set_viewport_size({"width": width, "height": 800})
    page.goto("/")
    assert page.get_by_role("button", name="Authorize the demo web app").is_visible()
    assert fits_the_width(page)
    shot(page, f"home-{width}")


def test_signed_in_pages_fit_a_320px_phone(page, shot, sign_in, user):
    """Every page behind the sign-in, at the narrowest width: nothing scrolls sideways."""
    from django.contrib.auth.models import Permission

    from oauthkit.provider.device import create_device_authorization
    from oauthkit.testing.factories import ConsentFactory

    user.user_permissions.add(Permission.objects.get(codename="register_client"))
    client = ClientFactory(name="A client with a rather long name, as some have", owner=user)
    ConsentFactory(user=user, client=client, scope="read")
    issued = create_device_authorization(client, ["read"])
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto("/accounts/login/")
    sign_in(page, "alice", "password")
    pages = {
        "consent": "/o/authorize/?"
        + urlencode(authorize_params(client, pkce_pair()[1], scope="read write", prompt="consent")),
        "device": "/o/device/verify/",
        "device-confirm": f"/o/device/verify/?user_code={issued.user_code}",
        "authorized": "/o/applications/authorized/",
        "developer": "/o/applications/developer/",
        "developer-new": "/o/applications/developer/new/",
        "developer-detail": f"/o/applications/developer/{client.pk}/",
        "logout-confirm": "/o/end_session/",
    }
    wide = []
    for name, url in pages.items():
        page.goto(url)
        shot(page, name)
        if not fits_the_width(page):
            wide.append(name)
    assert wide == []
