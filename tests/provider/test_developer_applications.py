"""The "Developer applications" pages at /o/applications/developer/: people register and
manage their own clients; the secret is shown once; nobody reaches another's client."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client as HttpClient

from oauthkit.conf import DEFAULTS
from oauthkit.provider import client_cache
from oauthkit.provider.grants.base import Grant
from oauthkit.provider.models import AccessToken, Client
from oauthkit.revocation import is_revoked
from oauthkit.testing.factories import AccessTokenFactory, ClientFactory, UserFactory
from tests.helpers import basic, post_form

pytestmark = pytest.mark.django_db

BASE = "/o/applications/developer/"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class FakeDeviceGrant(Grant):
    """Stands in for the device grant (RFC 8628) in the registry."""

    grant_type = DEVICE_GRANT


@pytest.fixture(autouse=True)
def site_offers_client_credentials(settings):
    """This site lets developers pick client_credentials (not the default), which these
    tests use to try a client's secret at the token endpoint."""
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "DEVELOPER_APPLICATIONS_GRANT_TYPES": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            DEVICE_GRANT,
        ],
    }


@pytest.fixture
def developer(db):
    user = UserFactory(username="dev")
    user.user_permissions.add(Permission.objects.get(codename="register_client"))
    return user


@pytest.fixture
def http(client, developer):
    client.force_login(developer)
    return client


def form_data(**overrides) -> dict:
    return {
        "name": "My app",
        "logo_uri": "",
        "client_type": "confidential",
        "redirect_uris": "https://app.example.com/cb\n\nhttps://app.example.com/cb2\n",
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "scopes": ["read", "write"],
        **overrides,
    }


def secret_on_page(response) -> str | None:
    match = re.search(r'<code id="client-secret">([^<]+)</code>', response.content.decode())
    return match.group(1) if match else None


def client_credentials(http, client_id: str, secret: str):
    return post_form(
        http,
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "read"},
        HTTP_AUTHORIZATION=basic(client_id, secret),
    )


def create(http, **overrides) -> Client:
    response = http.post(f"{BASE}new/", form_data(**overrides))
    assert response.status_code == 303, response.content.decode()
    client = Client.objects.latest("pk")
    assert response["Location"] == f"{BASE}{client.pk}/"
    return client


# --- Access --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["", "new/", "1/", "1/secret/", "1/delete/"])
def test_anonymous_visitor_is_sent_to_sign_in(client, path):
    response = client.get(BASE + path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("path", ["", "new/", "1/", "1/secret/", "1/delete/"])
def test_pages_are_404_when_turned_off(client, developer, settings, path):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "DEVELOPER_APPLICATIONS": False}

    assert client.get(BASE + path).status_code == 404
    client.force_login(developer)
    assert client.get(BASE + path).status_code == 404
    assert client.post(BASE + path, form_data()).status_code == 404
    assert not Client.objects.exists()


def test_turned_off_pages_leave_the_link_out_of_the_navigation(client, user, settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "DEVELOPER_APPLICATIONS": False}
    client.force_login(user)

    page = client.get("/o/applications/authorized/").content.decode()

    assert BASE not in page


def test_without_the_permission_a_clear_403_page(client, user):
    client.force_login(user)

    response = client.get(BASE)
    refused = client.post(f"{BASE}new/", form_data())

    assert response.status_code == 403
    assert "You cannot register applications here" in response.content.decode()
    assert response["X-Frame-Options"] == "DENY"
    assert refused.status_code == 403
    assert not Client.objects.exists()


def test_permission_none_lets_every_signed_in_user_in(client, user, settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "DEVELOPER_APPLICATIONS_PERMISSION": None}
    client.force_login(user)

    assert client.get(BASE).status_code == 200


def test_pages_are_protected_and_never_cached(http):
    response = http.get(f"{BASE}new/")

    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"


def test_the_list_shows_only_the_users_own_clients(http, developer):
    ClientFactory(name="Mine", owner=developer)
    ClientFactory(name="Theirs", owner=UserFactory())
    ClientFactory(name="Nobody's")

    page = http.get(BASE).content.decode()

    assert "Mine" in page
    assert "Theirs" not in page and "Nobody&#x27;s" not in page


@pytest.mark.parametrize("path", ["{pk}/", "{pk}/secret/", "{pk}/delete/"])
def test_another_users_client_is_404_for_every_method(http, path):
    theirs = ClientFactory(owner=UserFactory())
    url = BASE + path.format(pk=theirs.pk)

    assert http.get(url).status_code == 404
    assert http.post(url, form_data(name="Hijacked")).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name != "Hijacked"
    assert theirs.check_secret(theirs.raw_secret)


# --- Create and the secret shown once ----------------------------------------------------------


def test_create_a_confidential_client_and_see_its_secret_once(http, developer):
    client = create(http)

    assert client.owner == developer
    assert client.client_type == "confidential"
    assert client.token_endpoint_auth_method == "client_secret_basic"
    assert client.redirect_uris == ["https://app.example.com/cb", "https://app.example.com/cb2"]
    assert client.scopes == ["read", "write"]
    first = http.get(f"{BASE}{client.pk}/")
    secret = secret_on_page(first)
    assert secret and client.check_secret(secret)
    assert first["Cache-Control"] == "no-store"
    # Never again: a reload (or the back button, with no-store) shows no secret.
    assert secret_on_page(http.get(f"{BASE}{client.pk}/")) is None
    assert secret not in http.get(BASE).content.decode()
    assert client_credentials(http, client.client_id, secret).status_code == 200


def test_the_secret_is_never_in_a_url_or_stored_raw(http):
    response = http.post(f"{BASE}new/", form_data())
    client = Client.objects.get()
    secret = secret_on_page(http.get(response["Location"]))

    assert secret not in response["Location"]
    assert secret not in client.secret_hash


def test_admin_only_options_cannot_be_set_by_the_owner(http):
    client = create(
        http, skip_consent="on", can_introspect="on", required_scopes="read", is_active=""
    )

    assert client.skip_consent is False
    assert client.can_introspect is False
    assert client.required_scopes == []
    assert client.is_active is True


def test_create_a_public_client(http):
    client = create(
        http,
        client_type="public",
        redirect_uris="com.example.app:/callback\nhttp://127.0.0.1/cb",
        grant_types=["authorization_code", "refresh_token"],
    )

    assert client.token_endpoint_auth_method == "none"
    assert client.secret_hash == ""
    page = http.get(f"{BASE}{client.pk}/")
    assert secret_on_page(page) is None
    assert f"{BASE}{client.pk}/secret/" not in page.content.decode()


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"redirect_uris": "http://app.example.com/cb"}, "redirect_uris", "only for loopback"),
        ({"redirect_uris": "myapp:/cb"}, "redirect_uris", "must contain a dot"),
        ({"redirect_uris": "https://app.example.com/cb#x"}, "redirect_uris", "fragment"),
        ({"redirect_uris": ""}, "redirect_uris", "needs at least one redirect URI"),
        ({"client_type": "public"}, "grant_types", "cannot use client_credentials"),
        ({"scopes": ["read", "admin:all"]}, "scopes", "not one of the available choices"),
        ({"grant_types": ["password"]}, "grant_types", "not one of the available choices"),
        ({"scopes": []}, "scopes", "This field is required"),
        ({"name": "  "}, "name", "This field is required"),
    ],
)
def test_bad_input_is_shown_on_the_field_and_nothing_is_saved(http, overrides, field, message):
    response = http.post(f"{BASE}new/", form_data(**overrides))

    assert response.status_code == 200
    assert not Client.objects.exists()
    assert any(message in str(e) for e in response.context["form"].errors[field])
    page = response.content.decode()
    # The message is tied to its input (or fieldset) for screen readers.
    assert f'id="id_{field}_error"' in page
    assert re.search(rf'aria-describedby="[^"]*id_{field}_error', page), page
    assert 'role="alert"' in page


def grant_types_setting(*extra: str) -> list[str]:
    return [
        "oauthkit.provider.grants.authorization_code.AuthorizationCodeGrant",
        "oauthkit.provider.grants.refresh_token.RefreshTokenGrant",
        *extra,
    ]


def test_device_grant_is_offered_only_when_registered(http, settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "GRANT_TYPES": grant_types_setting()}
    offered = http.get(f"{BASE}new/").context["form"].fields["grant_types"].choices
    assert DEVICE_GRANT not in dict(offered)
    refused = http.post(f"{BASE}new/", form_data(client_type="public", grant_types=[DEVICE_GRANT]))
    assert refused.status_code == 200
    assert not Client.objects.exists()
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "GRANT_TYPES": grant_types_setting(f"{__name__}.FakeDeviceGrant"),
    }

    client = create(http, client_type="public", grant_types=["authorization_code", DEVICE_GRANT])

    assert client.grant_types == ["authorization_code", DEVICE_GRANT]


def test_create_needs_the_csrf_token(developer):
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(developer)

    assert http.post(f"{BASE}new/", form_data()).status_code == 403
    assert not Client.objects.exists()


# --- Edit ------------------------------------------------------------------------------------


def test_edit_redirect_uris_and_drop_the_cached_client(http, developer):
    client = ClientFactory(owner=developer, scopes=["read"])
    assert client_cache.get_active_client(client.client_id).redirect_uris == client.redirect_uris

    response = http.post(
        f"{BASE}{client.pk}/",
        form_data(
            redirect_uris="https://new.example.com/cb",
            grant_types=["authorization_code"],
            client_type="public",
        ),
    )

    assert response.status_code == 303
    assert response["Location"] == f"{BASE}{client.pk}/"
    client.refresh_from_db()
    assert client.redirect_uris == ["https://new.example.com/cb"]
    # The type is chosen once; the secret still works.
    assert client.client_type == "confidential"
    assert client.check_secret(client.raw_secret)
    # This process's cached copy is dropped at once (client_cache, like the admin's saves).
    assert client_cache.get_active_client(client.client_id).redirect_uris == [
        "https://new.example.com/cb"
    ]


def test_edit_keeps_what_an_administrator_set(http, developer):
    client = ClientFactory(
        owner=developer,
        skip_consent=True,
        grant_types=["authorization_code", "password"],
        scopes=["read", "admin:all"],
    )
    form = http.get(f"{BASE}{client.pk}/").context["form"]
    assert "password" in dict(form.fields["grant_types"].choices)

    response = http.post(
        f"{BASE}{client.pk}/",
        form_data(grant_types=["authorization_code", "password"], scopes=["read", "admin:all"]),
    )

    assert response.status_code == 303
    client.refresh_from_db()
    assert client.skip_consent is True
    assert client.grant_types == ["authorization_code", "password"]
    assert client.scopes == ["read", "admin:all"]


def test_invalid_edit_changes_nothing(http, developer):
    client = ClientFactory(owner=developer)

    response = http.post(f"{BASE}{client.pk}/", form_data(redirect_uris="ftp:/x"))

    assert response.status_code == 200
    assert "must contain a dot" in response.content.decode()
    client.refresh_from_db()
    assert client.redirect_uris == ["https://client.example.com/callback"]


# --- Regenerate the secret -------------------------------------------------------------------


def test_regenerate_the_secret(http, developer):
    client = ClientFactory(owner=developer)
    confirm = http.get(f"{BASE}{client.pk}/secret/")
    assert confirm.status_code == 200
    assert "stops working" in confirm.content.decode()
    client.refresh_from_db()
    assert client.check_secret(client.raw_secret)

    response = http.post(f"{BASE}{client.pk}/secret/")

    assert response.status_code == 303
    new = secret_on_page(http.get(response["Location"]))
    assert new and secret_on_page(http.get(response["Location"])) is None
    assert client_credentials(http, client.client_id, client.raw_secret).status_code == 401
    assert client_credentials(http, client.client_id, new).status_code == 200


def test_a_public_client_has_no_secret_to_regenerate(http, developer):
    client = ClientFactory(owner=developer, public=True)

    assert http.get(f"{BASE}{client.pk}/secret/").status_code == 404
    assert http.post(f"{BASE}{client.pk}/secret/").status_code == 404
    client.refresh_from_db()
    assert client.secret_hash == ""


def test_a_secret_waiting_for_one_client_is_never_shown_for_another(http, developer):
    first = create(http)
    second = ClientFactory(owner=developer)

    assert secret_on_page(http.get(f"{BASE}{second.pk}/")) is None
    assert secret_on_page(http.get(f"{BASE}{first.pk}/")) is None


# --- Delete ----------------------------------------------------------------------------------


def test_delete_asks_then_revokes_and_deletes(http, developer, settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "REVOCATION_CACHE": "default"}
    client = ClientFactory(owner=developer)
    token = AccessTokenFactory(client=client)
    assert http.get(f"{BASE}{client.pk}/delete/").status_code == 200
    assert Client.objects.filter(pk=client.pk).exists()

    response = http.post(f"{BASE}{client.pk}/delete/")

    assert response.status_code == 303
    assert response["Location"] == BASE
    assert not Client.objects.filter(pk=client.pk).exists()
    assert not AccessToken.objects.filter(pk=token.pk).exists()
    # Revoked before the row went: APIs that check the shared list refuse the JWT.
    assert is_revoked(token.jti)
    assert client_cache.get_active_client(client.client_id) is None
    assert "is deleted" in http.get(BASE).content.decode()


def test_client_credentials_is_not_offered_by_default(http, settings):
    # A self-registered client must not mint user-less tokens with any scope it likes.
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "DEVELOPER_APPLICATIONS_GRANT_TYPES": DEFAULTS["DEVELOPER_APPLICATIONS_GRANT_TYPES"],
    }
    page = http.get(f"{BASE}new/").content.decode()
    assert 'value="authorization_code"' in page
    assert 'value="client_credentials"' not in page

    response = http.post(f"{BASE}new/", form_data())

    assert response.status_code == 200
    assert "not one of the available choices" in response.content.decode()
    assert not Client.objects.exists()


def test_the_setting_never_offers_a_legacy_grant(http, settings):
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "ALLOW_PASSWORD_GRANT": True,
        "DEVELOPER_APPLICATIONS_GRANT_TYPES": ["authorization_code", "password"],
    }
    page = http.get(f"{BASE}new/").content.decode()
    assert 'value="authorization_code"' in page
    assert 'value="password"' not in page
