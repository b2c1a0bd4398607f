"""Client credentials grant through /o/token/ (RFC 6749 §4.4, RFC 9068)."""

import pytest
from django.core.exceptions import ValidationError

from oauthkit import jose
from oauthkit.provider.keys import key_ring
from oauthkit.provider.models import Client
from oauthkit.testing.factories import ClientFactory
from tests.helpers import assert_oauth_error, basic_auth, post_form

pytestmark = pytest.mark.django_db


def client_credentials(http, oauth_client, **extra):
    data = {"grant_type": "client_credentials", **extra}
    return post_form(http, "/o/token/", data, **basic_auth(oauth_client))


def verified_claims(token: str) -> dict:
    header, claims = jose.verify(
        token, key_ring.verification_keys(), algs=jose.SUPPORTED_ALGORITHMS, typ="at+jwt"
    )
    assert header["typ"] == "at+jwt"  # RFC 9068 §2.1
    return claims


def test_confidential_client_gets_a_signed_jwt_and_no_refresh_token(client, oauth_client):
    response = client_credentials(client, oauth_client, scope="read write")

    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"  # RFC 6749 §5.1
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "read write"
    assert body["expires_in"] == 3600
    # RFC 6749 §4.4.3: a refresh token SHOULD NOT be included.
    assert "refresh_token" not in body
    claims = verified_claims(body["access_token"])
    # RFC 9068 §2.2: with no resource owner, sub is the client.
    assert claims["sub"] == oauth_client.client_id
    assert claims["client_id"] == oauth_client.client_id
    assert claims["iss"] == "https://testserver"
    assert claims["aud"] == "https://testserver"
    assert claims["scope"] == "read write"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["jti"]


def test_client_default_scopes_are_used_when_none_is_requested(client):
    oauth_client = ClientFactory(default_scopes=["write", "profile"])

    response = client_credentials(client, oauth_client)

    # RFC 6749 §3.3: the server uses a pre-defined default scope.
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "write profile"
    assert verified_claims(response.json()["access_token"])["scope"] == "write profile"


def test_site_default_scopes_are_used_when_the_client_has_none(client, oauth_client, settings):
    assert client_credentials(client, oauth_client).json()["scope"] == "read"
    settings.OAUTHKIT = {**settings.OAUTHKIT, "DEFAULT_SCOPES": ["email", "write"]}

    assert client_credentials(client, oauth_client).json()["scope"] == "email write"


@pytest.mark.parametrize("scope", ["write", "read write", "no-such-scope"])
def test_scope_the_client_may_not_request_is_invalid_scope(client, scope):
    oauth_client = ClientFactory(scopes=["read"])

    response = client_credentials(client, oauth_client, scope=scope)

    assert_oauth_error(response, "invalid_scope")


def test_public_client_is_unauthorized_client(client):
    # full_clean refuses this registration, so only a direct ORM write can create it.
    public = ClientFactory.build(public=True, grant_types=["client_credentials"])
    with pytest.raises(ValidationError):
        public.full_clean()
    public = ClientFactory(public=True, grant_types=["client_credentials"])
    assert public.is_public

    response = post_form(
        client, "/o/token/", {"grant_type": "client_credentials", "client_id": public.client_id}
    )

    # RFC 6749 §4.4: only confidential clients may use this grant.
    assert_oauth_error(response, "unauthorized_client")


def test_client_without_the_grant_is_unauthorized_client(client):
    oauth_client = ClientFactory(grant_types=["authorization_code", "refresh_token"])

    response = client_credentials(client, oauth_client)

    # RFC 6749 §5.2 unauthorized_client.
    assert_oauth_error(response, "unauthorized_client")


def test_client_secret_post_client_gets_a_token(client):
    oauth_client = ClientFactory(token_endpoint_auth_method=Client.AuthMethod.CLIENT_SECRET_POST)

    response = post_form(
        client,
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_id": oauth_client.client_id,
            "client_secret": oauth_client.raw_secret,
        },
    )

    assert response.status_code == 200, response.content
    assert verified_claims(response.json()["access_token"])["sub"] == oauth_client.client_id


def test_opaque_format_client_gets_an_opaque_token_that_introspects(client):
    oauth_client = ClientFactory(access_token_format=Client.TokenFormat.OPAQUE)

    token = client_credentials(client, oauth_client).json()["access_token"]

    assert token.count(".") != 2
    introspected = post_form(
        client, "/o/introspect/", {"token": token}, **basic_auth(oauth_client)
    ).json()
    assert introspected["active"] is True
    assert introspected["sub"] == oauth_client.client_id
    assert "username" not in introspected
