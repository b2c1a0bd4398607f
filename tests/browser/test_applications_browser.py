"""The application pages in a real browser: revoking an authorized application, and
registering one whose secret is shown once."""

from __future__ import annotations

import re

from django.contrib.auth.models import Permission
from django.test import Client as HttpClient
from playwright.sync_api import expect

from oauthkit.testing.factories import (
    AccessTokenFactory,
    ClientFactory,
    ConsentFactory,
    RefreshTokenFactory,
    UserFactory,
)
from tests.helpers import basic_auth, post_form

AUTHORIZED = "/o/applications/authorized/"
DEVELOPER = "/o/applications/developer/"


def introspects_active(oauth_client, token: str) -> bool:
    response = post_form(
        HttpClient(), "/o/introspect/", {"token": token}, **basic_auth(oauth_client)
    )
    return response.json()["active"]


def test_revoke_an_authorized_application(page, shot, sign_in):
    user = UserFactory(username="alice")
    oauth_client = ClientFactory(name="Photo Printer")
    ClientFactory(name="Calendar Sync")
    ConsentFactory(user=user, client=oauth_client, scope="openid read")
    token = AccessTokenFactory(user=user, client=oauth_client, scope="read")
    RefreshTokenFactory(user=user, client=oauth_client, scope="read write")
    assert introspects_active(oauth_client, token.raw_token)

    page.goto(AUTHORIZED)
    sign_in(page, "alice", "password")
    card = page.locator(".card", has_text="Photo Printer")
    expect(card).to_contain_text("Change your data")
    shot(page, "authorized")
    page.set_viewport_size({"width": 360, "height": 740})
    shot(page, "authorized-narrow")
    card.get_by_role("button", name="Revoke access").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Revoke access for Photo Printer")
    shot(page, "confirm")
    page.get_by_role("button", name="Revoke access").click()

    expect(page.get_by_role("status")).to_contain_text("Photo Printer no longer has access")
    expect(page.locator(".card")).to_have_count(0)
    shot(page, "revoked")
    assert not introspects_active(oauth_client, token.raw_token)


def test_register_an_application_see_the_secret_once_and_edit_it(page, shot, sign_in):
    user = UserFactory(username="dev")
    user.user_permissions.add(Permission.objects.get(codename="register_client"))

    page.goto(f"{DEVELOPER}new/")
    sign_in(page, "dev", "password")
    page.get_by_role("textbox", name=re.compile("^Name")).fill("Team dashboard")
    page.get_by_label("Redirect URIs").fill("http://dashboard.example.com/cb")
    page.get_by_role("checkbox", name=re.compile(r"^read:")).check()
    page.get_by_role("button", name="Register").click()
    # Plain http is refused; the message sits on the field.
    expect(page.locator("#id_redirect_uris_error")).to_contain_text("only for loopback")
    shot(page, "form-error")
    page.get_by_label("Redirect URIs").fill("https://dashboard.example.com/cb")
    page.get_by_role("button", name="Register").click()

    secret = page.locator("#client-secret")
    expect(secret).to_be_visible()
    assert len(secret.inner_text()) > 30
    shot(page, "secret")
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Team dashboard")
    expect(page.locator("#client-secret")).to_have_count(0)
    page.get_by_role("link", name="Back to your applications").click()
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Team dashboard")
    expect(page.locator("#client-secret")).to_have_count(0)

    page.get_by_label("Redirect URIs").fill(
        "https://dashboard.example.com/cb\nhttps://dashboard.example.com/cb2"
    )
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("Your changes are saved")
    expect(page.get_by_label("Redirect URIs")).to_have_value(
        "https://dashboard.example.com/cb\nhttps://dashboard.example.com/cb2"
    )
    shot(page, "edited")
    page.set_viewport_size({"width": 360, "height": 740})
    shot(page, "edited-narrow")
