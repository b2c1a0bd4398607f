"""oauthkit.testing: bearer() and the pytest fixtures, used as a site's own tests use them."""

import base64
import json

import pytest
from django.urls import include, path
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from oauthkit import jose
from oauthkit.drf.authentication import OAuth2Authentication
from oauthkit.provider.models import AccessToken
from oauthkit.testing import bearer, issue_token, revoke
from oauthkit.testing.factories import ClientFactory, UserFactory
from tests.helpers import basic_auth, post_form

# As a site's conftest.py loads them.
pytest_plugins = ["oauthkit.testing.fixtures"]
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


class HasScopes(BasePermission):
    """The view's ``required_scopes``, all of them (a stand-in for oauthkit's permissions)."""

    def has_permission(self, request, view):
        return request.auth is not None and request.auth.has_scopes(view.required_scopes)


class Users(APIView):
    authentication_classes = [OAuth2Authentication]
    permission_classes = [HasScopes]
    required_scopes = ["read:users"]

    def get(self, request):
        return Response({"user": str(request.user), "client_id": request.auth.client_id})


class Ping(APIView):
    """Touches only the token, never the user: no SQL of its own."""

    authentication_classes = [OAuth2Authentication]
    permission_classes = [HasScopes]
    required_scopes = ["read"]

    def get(self, request):
        return Response({"scopes": sorted(request.auth.scopes)})


urlpatterns = [
    path("users", Users.as_view()),
    path("ping", Ping.as_view()),
    path("o/", include("oauthkit.provider.urls")),
]


def claims_of(header: str) -> dict:
    payload = header.split()[1].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def invalid_token(response):
    return response.status_code == 401 and 'error="invalid_token"' in response["WWW-Authenticate"]


def test_bearer_for_a_user(client):
    alice = UserFactory(username="alice")
    header = bearer(alice, scopes=["read:users"])
    assert header.startswith("Bearer ")
    response = client.get("/users", HTTP_AUTHORIZATION=header)
    assert response.status_code == 200, response.content
    assert response.json()["user"] == "alice"
    # A real token: its row is written, for this user, with these scopes.
    row = AccessToken.objects.get(user=alice)
    assert row.scopes == ["read:users"]
    assert row.client.client_id == response.json()["client_id"]


def test_bearer_without_user_is_a_client_credentials_token(client):
    response = client.get("/users", HTTP_AUTHORIZATION=bearer(scopes="read:users"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user"] == f"client:{body['client_id']}"
    row = AccessToken.objects.get()
    assert row.user is None
    assert not row.client.is_public  # the default client is confidential


def test_bearer_for_a_given_client(client):
    app = ClientFactory(name="Mobile", access_token_format="jwt")
    response = client.get("/users", HTTP_AUTHORIZATION=bearer(client=app, scopes=["read:users"]))
    assert response.json()["client_id"] == app.client_id


def test_default_scope_is_read(client):
    header = bearer(UserFactory())
    assert client.get("/ping", HTTP_AUTHORIZATION=header).json() == {"scopes": ["read"]}
    # RFC 6750 §3.1: a valid token without the needed scope is refused.
    assert client.get("/users", HTTP_AUTHORIZATION=header).status_code == 403


def test_formats(client):
    jwt = issue_token(UserFactory(), format="jwt")
    opaque = issue_token(UserFactory(), format="opaque")
    assert jose.unverified_header(jwt)["typ"] == "at+jwt"  # RFC 9068 §2.1
    assert opaque.count(".") != 2
    for token in (jwt, opaque):
        assert client.get("/ping", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    with pytest.raises(ValueError, match="format"):
        issue_token(format="paseto")


def test_format_is_not_saved_on_the_client():
    app = ClientFactory()
    issue_token(client=app, format="opaque")
    app.refresh_from_db()
    assert app.access_token_format == ""


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_expired_token_is_refused(client, token_format):
    # Past the resource server's 30 s leeway (RFC 9068 §4: exp is checked).
    header = bearer(UserFactory(), expires_in=-120, format=token_format)
    assert invalid_token(client.get("/ping", HTTP_AUTHORIZATION=header))


def test_short_lived_token_is_accepted(client):
    header = bearer(UserFactory(), expires_in=5)
    assert client.get("/ping", HTTP_AUTHORIZATION=header).status_code == 200
    row = AccessToken.objects.get()
    assert (row.expires_at - row.created).total_seconds() == 5


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_audience(client, settings, token_format):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "RESOURCE_SERVER": {"AUDIENCE": "https://api.test"}}
    # RFC 9068 §4: a token for another audience is refused.
    for_us = bearer(UserFactory(), audience="https://api.test", format=token_format)
    for_others = bearer(UserFactory(), audience="https://other.test", format=token_format)
    assert client.get("/ping", HTTP_AUTHORIZATION=for_us).status_code == 200
    assert invalid_token(client.get("/ping", HTTP_AUTHORIZATION=for_others))


def test_issuer_defaults_to_the_test_server(client, settings):
    settings.OAUTHKIT = {k: v for k, v in settings.OAUTHKIT.items() if k != "ISSUER"}
    header = bearer(UserFactory())
    assert claims_of(header)["iss"] == "http://testserver"
    assert client.get("/ping", HTTP_AUTHORIZATION=header).status_code == 200


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_revoke(client, token_format):
    header = bearer(UserFactory(), format=token_format)
    assert client.get("/ping", HTTP_AUTHORIZATION=header).status_code == 200
    assert revoke(header) == 1
    # RFC 7009 §2: a revoked token is no longer accepted (default: checked in the database).
    assert invalid_token(client.get("/ping", HTTP_AUTHORIZATION=header))


def test_client_fixtures(client, oauthkit_client, oauthkit_public_client):
    assert oauthkit_public_client.is_public
    assert oauthkit_public_client.raw_secret is None
    # The confidential client really authenticates at the token endpoint (RFC 6749 §4.4).
    response = post_form(
        client, "/o/token/", {"grant_type": "client_credentials"}, **basic_auth(oauthkit_client)
    )
    assert response.status_code == 200, response.content
    token = response.json()["access_token"]
    assert client.get("/ping", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_bearer_and_token_fixtures(client, oauthkit_bearer, oauthkit_token, oauthkit_client):
    user = UserFactory(username="bob")
    header = oauthkit_bearer(user, client=oauthkit_client, scopes=["read:users"])
    assert client.get("/users", HTTP_AUTHORIZATION=header).json() == {
        "user": "bob",
        "client_id": oauthkit_client.client_id,
    }
    raw = oauthkit_token(user, scopes=["read"])
    assert not raw.startswith("Bearer")
    assert client.get("/ping", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def test_revocation_cache_fixture(client, oauthkit_revocation_cache, django_assert_num_queries):
    header = bearer(UserFactory())
    # The shared revocation list replaces the database check: no SQL to validate.
    with django_assert_num_queries(0):
        assert client.get("/ping", HTTP_AUTHORIZATION=header).status_code == 200
    revoke(header)
    jti = claims_of(header)["jti"]
    assert oauthkit_revocation_cache.get(f"oauthkit:revoked:{jti}") is not None
    with django_assert_num_queries(0):
        assert invalid_token(client.get("/ping", HTTP_AUTHORIZATION=header))
