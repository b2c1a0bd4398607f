"""Token revocation at /o/revoke/ (RFC 7009)."""

import pytest

from oauthkit.provider.models import AccessToken, Client, RefreshToken
from oauthkit.testing.factories import ClientFactory
from tests.helpers import assert_oauth_error, basic_auth, get_code, post_form, redeem

pytestmark = pytest.mark.django_db


def client_credentials_token(http, oauth_client) -> str:
    response = post_form(
        http, "/o/token/", {"grant_type": "client_credentials"}, **basic_auth(oauth_client)
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def revoke(http, oauth_client, token: str, **extra):
    return post_form(http, "/o/revoke/", {"token": token, **extra}, **basic_auth(oauth_client))


def is_active(http, oauth_client, token: str) -> bool:
    response = post_form(http, "/o/introspect/", {"token": token}, **basic_auth(oauth_client))
    assert response.status_code == 200, response.content
    return response.json()["active"]


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_revoked_access_token_introspects_inactive(client, token_format):
    oauth_client = ClientFactory(access_token_format=token_format)
    token = client_credentials_token(client, oauth_client)
    assert is_active(client, oauth_client, token)

    response = revoke(client, oauth_client, token)

    # RFC 7009 §2.2: 200 once the token is revoked.
    assert response.status_code == 200
    assert not is_active(client, oauth_client, token)


def test_revoking_a_refresh_token_revokes_the_access_tokens_of_its_grant(
    client, user, oauth_client
):
    client.force_login(user)
    code, verifier = get_code(client, oauth_client)
    pair = redeem(client, oauth_client, code, verifier).json()

    response = revoke(client, oauth_client, pair["refresh_token"], token_type_hint="refresh_token")

    # RFC 7009 §2.1: revoking a refresh token also invalidates the grant's access tokens.
    assert response.status_code == 200
    assert not is_active(client, oauth_client, pair["access_token"])
    refused = post_form(
        client,
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
        **basic_auth(oauth_client),
    )
    assert_oauth_error(refused, "invalid_grant")


def test_a_wrong_token_type_hint_still_revokes(client, user, oauth_client):
    access = client_credentials_token(client, oauth_client)

    # RFC 7009 §2.1: the hint only guides the search.
    assert revoke(client, oauth_client, access, token_type_hint="refresh_token").status_code == 200
    assert not is_active(client, oauth_client, access)

    client.force_login(user)
    code, verifier = get_code(client, oauth_client)
    refresh = redeem(client, oauth_client, code, verifier).json()["refresh_token"]
    assert revoke(client, oauth_client, refresh, token_type_hint="access_token").status_code == 200
    assert not RefreshToken.objects.active().exists()


def test_unknown_hint_value_is_ignored(client, oauth_client):
    access = client_credentials_token(client, oauth_client)

    assert revoke(client, oauth_client, access, token_type_hint="something").status_code == 200
    assert not is_active(client, oauth_client, access)


@pytest.mark.parametrize("token", ["unknown-token", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_unknown_token_is_200(client, oauth_client, token):
    # RFC 7009 §2.2: invalid tokens do not cause an error response.
    assert revoke(client, oauth_client, token).status_code == 200


def test_token_of_another_client_is_200_and_not_revoked(client, user, oauth_client):
    access = client_credentials_token(client, oauth_client)
    client.force_login(user)
    code, verifier = get_code(client, oauth_client)
    refresh = redeem(client, oauth_client, code, verifier).json()["refresh_token"]
    other = ClientFactory()

    assert revoke(client, other, access).status_code == 200
    assert revoke(client, other, refresh).status_code == 200

    # RFC 7009 §2.1: the server checks the token was issued to the requesting client.
    assert is_active(client, oauth_client, access)
    assert is_active(client, oauth_client, refresh)
    assert not AccessToken.objects.filter(revoked_at__isnull=False).exists()


def test_public_client_revokes_its_refresh_token_with_client_id(client, user, public_client):
    client.force_login(user)
    code, verifier = get_code(client, public_client)
    pair = redeem(client, public_client, code, verifier).json()

    response = post_form(
        client, "/o/revoke/", {"token": pair["refresh_token"], "client_id": public_client.client_id}
    )

    assert response.status_code == 200
    assert not RefreshToken.objects.active().exists()
    assert not AccessToken.objects.active().exists()


def test_missing_token_is_invalid_request(client, oauth_client):
    response = post_form(client, "/o/revoke/", {}, **basic_auth(oauth_client))

    assert_oauth_error(response, "invalid_request")


def test_unauthenticated_request_is_invalid_client(client, oauth_client):
    access = client_credentials_token(client, oauth_client)

    response = post_form(client, "/o/revoke/", {"token": access})

    # RFC 7009 §2.1: the client authenticates as at the token endpoint.
    assert_oauth_error(response, "invalid_client", status=401)
    assert is_active(client, oauth_client, access)


def test_wrong_secret_is_invalid_client_with_www_authenticate(client, oauth_client):
    oauth_client.raw_secret = "wrong"

    response = revoke(client, oauth_client, "whatever")

    assert_oauth_error(response, "invalid_client", status=401)
    assert response["WWW-Authenticate"].startswith("Basic")


def test_secret_post_client_revokes(client):
    oauth_client = ClientFactory(token_endpoint_auth_method=Client.AuthMethod.CLIENT_SECRET_POST)
    data = {
        "grant_type": "client_credentials",
        "client_id": oauth_client.client_id,
        "client_secret": oauth_client.raw_secret,
    }
    access = post_form(client, "/o/token/", data).json()["access_token"]
    del data["grant_type"]

    assert post_form(client, "/o/revoke/", {**data, "token": access}).status_code == 200
    assert not AccessToken.objects.active().exists()


def test_cors_on_the_response_and_the_preflight(client, oauth_client):
    response = revoke(client, oauth_client, "whatever", HTTP_ORIGIN="https://spa.example.com")
    preflight = client.options(
        "/o/revoke/",
        HTTP_ORIGIN="https://spa.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )

    assert response["Access-Control-Allow-Origin"] == "*"
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    allowed = preflight["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed
    assert "content-type" in allowed


def test_get_is_not_allowed(client):
    assert client.get("/o/revoke/").status_code == 405
