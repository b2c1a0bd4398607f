"""Resource owner password credentials grant (RFC 6749 §4.3), off by default (RFC 9700
§2.4, security checklist 7): switches, client rules, throttling, tokens, discovery."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks

from oauthkit import jose
from oauthkit.provider import signals
from oauthkit.provider.forms import ClientAdminForm
from oauthkit.provider.keys import key_ring
from oauthkit.provider.models import AccessToken, RefreshToken
from oauthkit.testing.factories import ClientFactory, UserFactory
from tests.helpers import assert_oauth_error, basic_auth, post_form

pytestmark = pytest.mark.django_db

TOKEN = "/o/token/"
METADATA = "/.well-known/oauth-authorization-server"
ALL_GRANTS = ["authorization_code", "refresh_token", "password"]


@pytest.fixture
def allow_password(settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ALLOW_PASSWORD_GRANT": True}


@pytest.fixture
def app(db):
    """A confidential first-party client allowed the password and refresh grants."""
    return ClientFactory(grant_types=ALL_GRANTS)


def password_request(
    http, app, username="alice", password="password", address="127.0.0.1", **extra
):
    data = {"grant_type": "password", "username": username, "password": password, **extra}
    return post_form(http, TOKEN, data, **basic_auth(app), REMOTE_ADDR=address)


# --- Off unless the site and the client turn it on --------------------------------------------


def test_off_by_default_is_unsupported_grant_type(client, user, app):
    response = password_request(client, app)
    assert_oauth_error(response, "unsupported_grant_type")
    assert not AccessToken.objects.exists()


def test_off_by_default_even_for_a_client_without_the_grant(client, user, oauth_client):
    # The grant is not offered at all, so the answer does not depend on the client.
    response = password_request(client, oauth_client)
    assert_oauth_error(response, "unsupported_grant_type")


def test_discovery_advertises_password_only_while_the_switch_is_on(client, settings):
    assert "password" not in client.get(METADATA).json()["grant_types_supported"]
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ALLOW_PASSWORD_GRANT": True}
    assert "password" in client.get(METADATA).json()["grant_types_supported"]


def test_system_check_warns_while_the_switch_is_on(settings):
    assert "oauthkit.W006" not in {m.id for m in run_checks()}
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ALLOW_PASSWORD_GRANT": True}
    warning = next(m for m in run_checks() if m.id == "oauthkit.W006")
    assert "RFC 9700" in warning.hint


def test_admin_form_offers_password_only_while_the_switch_is_on(settings, app, oauth_client):
    def choices(instance):
        return [v for v, _ in ClientAdminForm(instance=instance).fields["grant_types"].choices]

    assert "password" not in choices(oauth_client)
    # A client that already has it keeps it visible, so saving does not drop it silently.
    assert "password" in choices(app)
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ALLOW_PASSWORD_GRANT": True}
    assert "password" in choices(oauth_client)


def test_client_without_the_grant_is_unauthorized_client(
    client, user, oauth_client, allow_password
):
    assert_oauth_error(password_request(client, oauth_client), "unauthorized_client")


def test_public_clients_are_refused(client, user, allow_password):
    # RFC 6749 §4.3.2: confidential clients only (documented in docs/legacy-flows.md).
    native = ClientFactory(public=True, grant_types=ALL_GRANTS)
    data = {"grant_type": "password", "username": "alice", "password": "password"}
    response = post_form(client, TOKEN, {**data, "client_id": native.client_id})
    assert_oauth_error(response, "unauthorized_client")


def test_wrong_client_secret_is_invalid_client_and_checks_no_password(
    client, user, app, allow_password, django_user_model
):
    data = {"grant_type": "password", "username": "alice", "password": "wrong"}
    for _ in range(10):
        response = post_form(client, TOKEN, data, **{"HTTP_AUTHORIZATION": "Basic eDp5"})
        assert_oauth_error(response, "invalid_client", status=401)
    # Those failures were not counted against alice.
    assert password_request(client, app).status_code == 200


# --- Tokens -----------------------------------------------------------------------------------


def test_issues_access_and_refresh_tokens_for_the_user(client, user, app, allow_password):
    issued = []
    signals.token_issued.connect(receiver := lambda **kw: issued.append(kw), weak=False)
    try:
        response = password_request(client, app, scope="read write")
    finally:
        signals.token_issued.disconnect(receiver)

    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "read write"
    assert body["refresh_token"]
    assert "id_token" not in body
    token = AccessToken.objects.get()
    assert token.user == user and token.client == app
    assert RefreshToken.objects.get().user == user
    assert [(kw["grant_type"], kw["user"]) for kw in issued] == [("password", user)]


def test_the_refresh_token_works(client, user, app, allow_password):
    refresh = password_request(client, app).json()["refresh_token"]
    data = {"grant_type": "refresh_token", "refresh_token": refresh}
    response = post_form(client, TOKEN, data, **basic_auth(app))
    assert response.status_code == 200, response.content


def test_no_refresh_token_without_the_refresh_grant(client, user, allow_password):
    app = ClientFactory(grant_types=["password"])
    body = password_request(client, app).json()
    assert "refresh_token" not in body
    assert not RefreshToken.objects.exists()


def test_default_scopes_when_none_requested(client, user, allow_password):
    app = ClientFactory(grant_types=ALL_GRANTS, default_scopes=["write"])
    assert password_request(client, app).json()["scope"] == "write"


def test_openid_gives_an_id_token_for_the_user(client, user, app, allow_password):
    body = password_request(client, app, scope="openid read").json()
    _, claims = jose.verify(body["id_token"], key_ring.verification_keys(None), algs=("RS256",))
    assert claims["aud"] == app.client_id
    assert claims["sub"] == str(user.pk)
    assert "auth_time" in claims
    assert claims["at_hash"]


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        pytest.param({"scope": "read nonsense"}, "invalid_scope", id="unknown-scope"),
        pytest.param({"resource": "https://api.unknown.example/"}, "invalid_target", id="resource"),
    ],
)
def test_bad_scope_or_resource(client, user, app, allow_password, extra, error):
    assert_oauth_error(password_request(client, app, **extra), error)


@pytest.mark.parametrize("missing", ["username", "password"])
def test_missing_credentials_are_invalid_request(client, user, app, allow_password, missing):
    data = {"grant_type": "password", "username": "alice", "password": "password"}
    del data[missing]
    assert_oauth_error(post_form(client, TOKEN, data, **basic_auth(app)), "invalid_request")


# --- Wrong credentials, inactive users, throttling --------------------------------------------


def test_wrong_password_unknown_user_and_inactive_user_get_one_answer(
    client, user, app, allow_password
):
    UserFactory(username="bob", is_active=False)
    answers = [
        assert_oauth_error(password_request(client, app, password="wrong"), "invalid_grant"),
        assert_oauth_error(password_request(client, app, username="nobody"), "invalid_grant"),
        assert_oauth_error(password_request(client, app, username="bob"), "invalid_grant"),
    ]
    assert answers[0] == answers[1] == answers[2]
    assert not AccessToken.objects.exists()


def test_a_username_is_blocked_after_too_many_failures(client, user, app, settings):
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "ALLOW_PASSWORD_GRANT": True,
        "THROTTLE_RATES": {"password_grant": "3/5m"},
    }
    for _ in range(3):
        assert_oauth_error(password_request(client, app, password="wrong"), "invalid_grant")
    # The right password is no longer checked, from any address, and case does not help.
    for username, address in [("alice", "10.0.0.9"), ("ALICE", "10.0.0.10")]:
        response = password_request(client, app, username=username, address=address)
        body = assert_oauth_error(response, "invalid_grant")
        assert "too many failed attempts" in body["error_description"].lower()
    assert not AccessToken.objects.exists()


def test_an_address_is_blocked_after_failures_across_usernames(client, user, app, settings):
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "ALLOW_PASSWORD_GRANT": True,
        "THROTTLE_RATES": {"password_grant": "3/5m"},
    }
    for name in ("u1", "u2", "u3"):
        assert_oauth_error(password_request(client, app, username=name), "invalid_grant")
    body = assert_oauth_error(password_request(client, app), "invalid_grant")
    assert "too many failed attempts" in body["error_description"].lower()
    # Another address is not blocked for alice.
    assert password_request(client, app, address="10.0.0.2").status_code == 200


def test_a_success_resets_the_username_count(client, user, app, settings):
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "ALLOW_PASSWORD_GRANT": True,
        "THROTTLE_RATES": {"password_grant": "3/5m"},
    }
    for attempt in range(2):
        address = f"10.0.1.{attempt}"
        for _ in range(2):
            response = password_request(client, app, password="wrong", address=address)
            assert_oauth_error(response, "invalid_grant")
        assert password_request(client, app, address=address).status_code == 200


def test_token_request_query_count(
    client, user, app, allow_password, django_assert_max_num_queries
):
    password_request(client, app)  # warm the client cache
    with django_assert_max_num_queries(8):
        assert password_request(client, app).status_code == 200
