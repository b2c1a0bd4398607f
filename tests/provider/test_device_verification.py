"""The device verification page (RFC 8628 §3.3): sign-in, the user code, Allow / Deny, and
the rate limit on wrong codes (§5.1)."""

import re
from datetime import timedelta

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from oauthkit.provider.models import DeviceAuthorization
from oauthkit.testing.factories import UserFactory
from tests.helpers import log_in_through_form, login_redirect_query
from tests.provider._device import VERIFY_URL, answer, device_app, poll, start, the_authorization

pytestmark = pytest.mark.django_db

WRONG = "That code is not valid"
TOO_MANY = "Too many attempts"


@pytest.fixture
def app(db):
    return device_app(name="Living Room TV", logo_uri="https://testserver/static/tv.png")


@pytest.fixture
def started(client, app) -> dict:
    return start(client, app, scope="openid profile read")


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def strict_throttle(settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "THROTTLE_RATES": {"device_user_code": "3/5m"}}


def lookup(http, code: str, **extra):
    """Type ``code`` into the form and press Continue."""
    return http.post(VERIFY_URL, {"user_code": code}, **extra)


def assert_protected(response) -> None:
    # Checklist 15, 16: no framing, no referrer, never cached.
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"


def is_confirm_page(response) -> bool:
    return "oauthkit/provider/device_confirm.html" in [t.name for t in response.templates]


# --- Signing in ------------------------------------------------------------------------------


def test_anonymous_user_signs_in_and_comes_back_with_the_code(client, user, started):
    complete = started["verification_uri_complete"].removeprefix("https://testserver")

    response = client.get(complete)

    assert_protected(response)
    next_url = login_redirect_query(response)["next"]
    assert next_url == f"{VERIFY_URL}?user_code={started['user_code']}"
    log_in_through_form(client, next_url)
    back = client.get(next_url)
    assert back.status_code == 200
    assert is_confirm_page(back)
    assert started["user_code"] in back.content.decode()


def test_anonymous_post_is_sent_to_sign_in_and_decides_nothing(client, started):
    response = client.post(VERIFY_URL, {"user_code": started["user_code"], "decision": "allow"})
    assert login_redirect_query(response)["next"] == VERIFY_URL
    assert the_authorization().status == DeviceAuthorization.Status.PENDING


# --- The form ---------------------------------------------------------------------------------


def test_form_is_accessible_and_protected(signed_in):
    response = signed_in.get(VERIFY_URL)

    assert response.status_code == 200
    assert_protected(response)
    page = response.content.decode()
    field = re.search(r"<input[^>]*name=\"user_code\"[^>]*>", page, re.S).group(0)
    assert 'id="id_user_code"' in field
    assert '<label for="id_user_code">' in page
    for attribute in ("autofocus", 'autocomplete="one-time-code"', "autocapitalize", "inputmode"):
        assert attribute in field
    assert "csrfmiddlewaretoken" in page


@pytest.mark.parametrize(
    "typed",
    [
        lambda c: c,  # WDJB-MJHT
        lambda c: c.lower(),  # wdjb-mjht
        lambda c: c.replace("-", ""),  # WDJBMJHT
        lambda c: c.replace("-", "").lower(),
        lambda c: f"  {c.lower()}  ",  # surrounding spaces
        lambda c: c.replace("-", " "),
    ],
)
def test_code_is_accepted_in_any_case_with_or_without_the_dash(signed_in, started, typed):
    response = lookup(signed_in, typed(started["user_code"]))

    assert response.status_code == 200
    assert is_confirm_page(response)
    # The confirmation shows the code as the device does (RFC 8628 §5.4).
    assert started["user_code"] in response.content.decode()


def test_code_from_verification_uri_complete_skips_the_typing(signed_in, started):
    response = signed_in.get(VERIFY_URL, {"user_code": started["user_code"].lower()})
    assert is_confirm_page(response)
    assert_protected(response)


def test_confirmation_shows_the_client_and_what_it_asks_for(signed_in, started):
    page = lookup(signed_in, started["user_code"]).content.decode()

    assert "Living Room TV wants to access your account" in page
    assert 'src="https://testserver/static/tv.png"' in page
    for description in ("Sign you in", "See your name and profile", "Read your data"):
        assert description in page
    assert 'value="allow"' in page and 'value="deny"' in page


def test_logo_on_another_site_is_not_loaded(client, user):
    # Checklist 16: no third-party resources on the page.
    app = device_app(logo_uri="https://tracker.example/logo.png")
    body = start(client, app)
    client.force_login(user)
    assert "tracker.example" not in lookup(client, body["user_code"]).content.decode()


@pytest.mark.parametrize(
    "typed", ["BCDF-GHJK", "ABCD-EFGH", "WDJB-MJH", "12345678", "é" * 8, "B" * 10_000]
)
def test_wrong_code_gives_a_clear_message(signed_in, started, typed):
    response = lookup(signed_in, typed)

    assert response.status_code == 400
    assert not is_confirm_page(response)
    page = response.content.decode()
    assert WRONG in page
    assert 'role="alert"' in page and 'aria-invalid="true"' in page
    assert_protected(response)


def test_empty_code_asks_for_the_code(signed_in, started):
    response = lookup(signed_in, "   ")
    assert response.status_code == 400
    assert "Enter the code shown on your device" in response.content.decode()


def test_expired_code_says_so(signed_in, started):
    DeviceAuthorization.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = lookup(signed_in, started["user_code"])
    assert response.status_code == 400
    assert "That code has expired" in response.content.decode()


def test_used_code_says_so(signed_in, user, started):
    answer(signed_in, user, started["user_code"])
    response = lookup(signed_in, started["user_code"])
    assert response.status_code == 400
    assert "already been used" in response.content.decode()


def test_code_of_an_inactive_client_is_not_valid(signed_in, app, started):
    app.is_active = False
    app.save()
    assert WRONG in lookup(signed_in, started["user_code"]).content.decode()


# --- Allow / Deny -----------------------------------------------------------------------------


def test_allow_approves_the_authorization_for_the_signed_in_user(client, user, app, started):
    log_in_through_form(client, VERIFY_URL)  # a real sign-in records auth_time and sid

    response = client.post(VERIFY_URL, {"user_code": started["user_code"], "decision": "allow"})

    assert response.status_code == 200
    assert_protected(response)
    assert "Device connected" in response.content.decode()
    record = the_authorization()
    assert record.status == DeviceAuthorization.Status.APPROVED
    assert record.user == user
    assert record.scope == "openid profile read"
    assert record.decided_at is not None and record.auth_time is not None
    assert record.sid == client.session["oauthkit_sid"]


def test_deny_refuses_the_authorization(signed_in, user, app, started):
    response = answer(signed_in, user, started["user_code"], decision="deny")

    assert "Access denied" in response.content.decode()
    assert the_authorization().status == DeviceAuthorization.Status.DENIED
    assert poll(signed_in, app, started["device_code"]).json()["error"] == "access_denied"


def test_second_answer_changes_nothing(signed_in, user, started):
    answer(signed_in, user, started["user_code"])
    response = signed_in.post(VERIFY_URL, {"user_code": started["user_code"], "decision": "deny"})
    assert response.status_code == 400
    assert "already been used" in response.content.decode()
    assert the_authorization().status == DeviceAuthorization.Status.APPROVED


def test_answer_needs_the_csrf_token(user, started):
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(user)
    response = http.post(VERIFY_URL, {"user_code": started["user_code"], "decision": "allow"})
    assert response.status_code == 403
    assert the_authorization().status == DeviceAuthorization.Status.PENDING

    # With the token from the page, as a browser sends it.
    page = http.get(VERIFY_URL, {"user_code": started["user_code"]}).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = {"user_code": started["user_code"], "decision": "allow", "csrfmiddlewaretoken": token}
    assert http.post(VERIFY_URL, data).status_code == 200
    assert the_authorization().status == DeviceAuthorization.Status.APPROVED


# --- Rate limit on wrong codes (RFC 8628 §5.1) ------------------------------------------------


@pytest.mark.usefixtures("strict_throttle")
def test_wrong_codes_are_limited_per_user(signed_in, started):
    for _ in range(3):
        assert WRONG in lookup(signed_in, "BCDF-GHJK").content.decode()

    # Blocked now, even for the right code, so guessing cannot go on.
    response = lookup(signed_in, started["user_code"])
    assert response.status_code == 429
    assert TOO_MANY in response.content.decode()
    assert_protected(response)
    blocked = signed_in.post(VERIFY_URL, {"user_code": started["user_code"], "decision": "allow"})
    assert blocked.status_code == 429
    assert the_authorization().status == DeviceAuthorization.Status.PENDING

    # The limit is this user's: the same user from another address is blocked too,
    # another user from another address is not.
    assert lookup(signed_in, started["user_code"], REMOTE_ADDR="10.9.9.9").status_code == 429
    other = HttpClient(REMOTE_ADDR="10.0.0.2")
    other.force_login(UserFactory(username="bob"))
    assert is_confirm_page(lookup(other, started["user_code"]))


@pytest.mark.usefixtures("strict_throttle")
def test_wrong_codes_are_limited_per_address_across_users(started):
    for n in range(3):
        http = HttpClient(REMOTE_ADDR="10.0.0.7")
        http.force_login(UserFactory(username=f"guesser{n}"))
        assert lookup(http, "BCDF-GHJK").status_code == 400

    fresh_user = HttpClient(REMOTE_ADDR="10.0.0.7")
    fresh_user.force_login(UserFactory(username="newcomer"))
    response = lookup(fresh_user, started["user_code"])
    assert response.status_code == 429
    assert TOO_MANY in response.content.decode()


@pytest.mark.usefixtures("strict_throttle")
def test_right_codes_do_not_count(client, signed_in, app):
    for _ in range(5):
        body = start(client, app)
        assert is_confirm_page(lookup(signed_in, body["user_code"]))
    # The user could still make three mistakes.
    assert lookup(signed_in, "BCDF-GHJK").status_code == 400


# --- Partial consent -------------------------------------------------------------------------


def test_confirmation_offers_optional_scopes_as_ticked_boxes(signed_in, started):
    page = lookup(signed_in, started["user_code"]).content.decode()

    # openid is required: plain text; profile and read can be unticked.
    assert 'value="openid"' not in page
    for scope in ("profile", "read"):
        assert re.search(rf'type="checkbox" name="scope_granted" value="{scope}"[^>]*checked', page)
    assert 'name="scope_offered" value="profile read"' in page


def test_unticked_scopes_are_not_granted_nor_in_the_token(signed_in, user, app, started):
    response = signed_in.post(
        VERIFY_URL,
        {
            "user_code": started["user_code"],
            "decision": "allow",
            "scope_offered": "profile read",
            "scope_granted": ["read", "write"],  # write was never requested: ignored
        },
    )
    assert response.status_code == 200

    assert the_authorization().scope == "openid read"
    body = poll(signed_in, app, started["device_code"]).json()
    assert body["scope"] == "openid read"  # RFC 6749 §5.1: scope differs from the request


def test_required_scopes_cannot_be_unticked(signed_in, user, started, app):
    app.required_scopes = ["read"]
    app.save()

    page = lookup(signed_in, started["user_code"]).content.decode()
    assert 'name="scope_offered" value="profile"' in page
    signed_in.post(
        VERIFY_URL,
        {"user_code": started["user_code"], "decision": "allow", "scope_offered": "profile read"},
    )
    assert the_authorization().scope == "openid read"
