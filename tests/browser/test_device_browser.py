"""The device verification page in Chromium (RFC 8628 §3.3): sign in, type the code as a
person would (lower case, with the dash), Allow; the polling device then gets its tokens."""

from __future__ import annotations

import re

import pytest

from oauthkit.testing.factories import UserFactory
from tests.provider._device import device_app, poll, start


@pytest.fixture
def app(db):
    UserFactory(username="alice")
    return device_app(name="Living Room TV")


def open_verification(page, sign_in) -> None:
    """Go to the verification page, get sent to sign in, and come back to it."""
    page.goto("/o/device/verify/")
    sign_in(page, "alice", "password")
    page.get_by_label("Enter the code shown on your device").wait_for()


def test_typed_code_and_allow_give_the_device_its_tokens(page, shot, sign_in, client, app):
    device = start(client, app, scope="openid profile read")
    open_verification(page, sign_in)
    field = page.get_by_label("Enter the code shown on your device")
    # autofocus: the person can type at once.
    assert page.evaluate("document.activeElement.id") == "id_user_code"
    field.type(device["user_code"].lower())
    shot(page, "code-typed")
    page.get_by_role("button", name="Continue").click()

    page.get_by_role("button", name="Allow").wait_for()
    assert "Living Room TV wants to access your account" in page.content()
    assert device["user_code"] in page.content()
    shot(page, "confirm")
    page.get_by_role("button", name="Allow").click()
    page.get_by_role("heading", name="Device connected").wait_for()
    shot(page, "connected")

    response = poll(client, app, device["device_code"])
    assert response.status_code == 200, response.content
    tokens = response.json()
    assert tokens["scope"] == "openid profile read"
    assert tokens["id_token"] and tokens["refresh_token"]


def test_wrong_code_shows_a_message_next_to_the_field(page, shot, sign_in, client, app):
    start(client, app)
    open_verification(page, sign_in)
    page.get_by_label("Enter the code shown on your device").fill("bcdf-ghjk")
    page.get_by_role("button", name="Continue").click()

    alert = page.get_by_role("alert")
    alert.wait_for()
    assert re.search("That code is not valid", alert.inner_text())
    field = page.get_by_label("Enter the code shown on your device")
    assert field.get_attribute("aria-invalid") == "true"
    shot(page, "wrong-code")
