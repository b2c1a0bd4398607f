"""The consent page in Chromium: sign in, then Allow, Deny, or untick a scope; the answer
reaches the client's redirect URI (RFC 6749 §4.1.2, §4.1.2.1) and the token carries only
the granted scopes (RFC 6749 §3.3)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from oauthkit.testing.factories import ClientFactory, UserFactory
from tests.helpers import ISSUER, authorize_params, pkce_pair, redeem


@pytest.fixture
def app(live_server):
    """A client whose redirect URI is on the live server (it answers 404: only the URL of
    the redirect matters, and the machine has no network)."""
    UserFactory(username="alice")
    return ClientFactory(name="Photo Printer", redirect_uris=[f"{live_server.url}/client/callback"])


def open_consent(page, app, sign_in, scope: str) -> str:
    """Start an authorization request, sign in, and stop at the consent page; returns the
    PKCE verifier."""
    verifier, challenge = pkce_pair()
    page.goto(f"/o/authorize/?{urlencode(authorize_params(app, challenge, scope=scope))}")
    sign_in(page, "alice", "password")
    page.get_by_role("button", name="Allow").wait_for()
    return verifier


def returned(page, app) -> dict[str, str]:
    """The query the browser was redirected to the client with."""
    page.wait_for_url(re.compile(re.escape(app.redirect_uris[0]) + r"\?"))
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def test_allow_sends_a_code_to_the_redirect_uri(page, shot, sign_in, app):
    open_consent(page, app, sign_in, "read")
    shot(page, "consent")
    page.get_by_role("button", name="Allow").click()

    answer = returned(page, app)
    assert answer["code"]
    assert answer["state"] == "xyz"
    assert answer["iss"] == ISSUER


def test_deny_sends_access_denied(page, shot, sign_in, app):
    open_consent(page, app, sign_in, "read")
    page.get_by_role("button", name="Deny").click()

    answer = returned(page, app)
    assert answer["error"] == "access_denied"
    assert "code" not in answer


def test_an_unticked_scope_is_not_in_the_token(page, shot, sign_in, app, client):
    app.required_scopes = ["openid"]
    app.save()
    verifier = open_consent(page, app, sign_in, "openid read write")
    # openid is required: plain text, no checkbox. The others are ticked checkboxes.
    assert page.get_by_role("checkbox").count() == 2
    write = page.get_by_label(re.compile(r"Change your data"))
    assert write.is_checked()
    write.uncheck()
    shot(page, "consent-write-unticked")
    page.get_by_role("button", name="Allow").click()

    body = redeem(client, app, returned(page, app)["code"], verifier).json()
    assert body["scope"] == "openid read"
    assert body["id_token"]
