"""The example site's pages (example_project/templates): the home page offers what the demo
has, the login page labels its inputs, and what the pages tell to run is what seed_demo
prints, so the two cannot drift apart."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from example_project.demo.management.commands import seed_demo
from tests.page_audit import PageAudit

pytestmark = [pytest.mark.django_db, pytest.mark.urls("example_project.urls")]

EXAMPLE_TEMPLATES = Path(__file__).resolve().parents[1] / "example_project" / "templates"


@pytest.fixture(autouse=True)
def example_settings(settings):
    # As tests/test_demo.py: the example URLs import the example apps, and their templates
    # come from example_project/templates.
    settings.INSTALLED_APPS = [
        *settings.INSTALLED_APPS,
        "example_project.demo",
        "example_project.api",
    ]
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [EXAMPLE_TEMPLATES, *settings.TEMPLATES[0]["DIRS"]]}
    ]


def parse(response) -> PageAudit:
    page = PageAudit()
    page.feed(response.content.decode())
    return page


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of the home page's authorization form."""
    import re

    form = re.search(r'<form method="get" action="/o/authorize/">(.*?)</form>', html, re.S)
    assert form, html
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form[1]))


def test_home_page_offers_what_the_demo_has(client):
    response = client.get("/")
    assert response.status_code == 200
    page = parse(response)
    for path in (
        "/o/applications/authorized/",
        "/o/applications/developer/",
        "/admin/",
        "/api/ping/open",
        "/.well-known/openid-configuration",
        "/o/jwks/",
    ):
        assert path in page.urls, path
    assert page.main_ids == ["content"] and page.html_lang


def test_home_page_authorization_form_is_seed_demos_request(client):
    html = client.get("/").content.decode()
    printed = dict(parse_qsl(urlsplit(seed_demo.authorization_url()).query))
    assert hidden_fields(html) == printed


def test_home_page_signed_in_offers_sign_out_with_csrf(client, user):
    client.force_login(user)
    page = parse(client.get("/"))
    assert [(f.method, f.action, f.has_csrf_token) for f in page.forms if f.method == "post"] == [
        ("post", "/accounts/logout/", True)
    ]


def test_login_page_labels_every_input(client):
    response = client.get("/accounts/login/", {"next": "/o/authorize/?client_id=x"})
    page = parse(response)
    assert {c["name"] for c in page.controls} == {"username", "password"}
    assert page.unlabelled() == []
    assert all(f.has_csrf_token for f in page.forms)
    assert b'name="next" value="/o/authorize/?client_id=x"' in response.content


def test_login_page_shows_a_failed_sign_in(client, user):
    response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert b'class="error" role="alert"' in response.content


def test_callback_page_shows_the_redeem_command_seed_demo_prints(client):
    response = client.get("/callback/", {"code": "abc_DEF-123", "state": seed_demo.STATE})
    expected = seed_demo.curl(
        seed_demo.WEB_CLIENT_ID,
        seed_demo.WEB_CLIENT_SECRET,
        "/o/token/",
        grant_type="authorization_code",
        code="abc_DEF-123",
        redirect_uri=seed_demo.REDIRECT_URI,
        code_verifier=seed_demo.CODE_VERIFIER,
    )
    assert f"<code>{expected}</code>" in response.content.decode()


def test_callback_page_cannot_be_made_to_show_a_shell_command(client):
    # The code is copied into a shell: anything but URL-safe characters is percent-encoded.
    response = client.get("/callback/", {"code": "x; rm -rf ~ $(id)"})
    assert b"code=x%3B%20rm%20-rf%20~%20%24%28id%29 " in response.content


def test_callback_page_shows_an_error(client):
    response = client.get("/callback/", {"error": "access_denied"})
    assert b'role="alert"' in response.content
    assert b"<code>access_denied</code>" in response.content
