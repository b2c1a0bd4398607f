"""Token introspection at /o/introspect/ (RFC 7662)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from oauthkit import jose
from oauthkit.provider.keys import key_ring
from oauthkit.provider.models import AccessToken, Client
from oauthkit.testing.factories import ClientFactory
from tests.helpers import assert_oauth_error, basic_auth, get_code, post_form, redeem

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(client, user, oauth_client) -> dict:
    """Access and refresh token from a real code flow for ``user`` and ``oauth_client``."""
    client.force_login(user)
    code, verifier = get_code(client, oauth_client, scope="read write")
    response = redeem(client, oauth_client, code, verifier)
    assert response.status_code == 200, response.content
    client.logout()
    return response.json()


def introspect(http, oauth_client, token: str, **extra) -> dict:
    data = {"token": token, **extra}
    response = post_form(http, "/o/introspect/", data, **basic_auth(oauth_client))
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


def claims_of(token: str) -> dict:
    _, claims = jose.verify(token, key_ring.verification_keys(), algs=jose.SUPPORTED_ALGORITHMS)
    return claims


def test_active_access_token(client, user, oauth_client, pair):
    body = introspect(client, oauth_client, pair["access_token"])

    # RFC 7662 §2.2.
    jwt = claims_of(pair["access_token"])
    assert body == {
        "active": True,
        "scope": "read write",
        "client_id": oauth_client.client_id,
        "username": "alice",
        "sub": str(user.pk),
        "aud": "https://testserver",
        "iss": "https://testserver",
        "exp": jwt["exp"],
        "iat": jwt["iat"],
        "token_type": "Bearer",
        "jti": jwt["jti"],
    }
    assert body["exp"] - body["iat"] == 3600


def test_active_refresh_token(client, user, oauth_client, pair):
    body = introspect(client, oauth_client, pair["refresh_token"], token_type_hint="refresh_token")

    assert body["active"] is True
    assert body["token_type"] == "refresh_token"
    assert body["scope"] == "read write"
    assert body["client_id"] == oauth_client.client_id
    assert body["sub"] == str(user.pk)
    assert body["username"] == "alice"
    assert body["exp"] - body["iat"] == 30 * 24 * 3600


def test_hint_access_token_for_a_refresh_token_still_finds_it(client, oauth_client, pair):
    # RFC 7662 §2.1: the hint may be wrong; the server extends its search.
    body = introspect(client, oauth_client, pair["refresh_token"], token_type_hint="access_token")

    assert body["active"] is True


def test_rotated_refresh_token_is_inactive(client, oauth_client, pair):
    refreshed = post_form(
        client,
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
        **basic_auth(oauth_client),
    )
    assert refreshed.status_code == 200

    # The old token can no longer be used (RFC 9700 §4.14.2), so it is not active.
    assert introspect(client, oauth_client, pair["refresh_token"]) == {"active": False}
    assert introspect(client, oauth_client, refreshed.json()["refresh_token"])["active"] is True


def test_expired_access_token_is_inactive(client, oauth_client, pair):
    AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert introspect(client, oauth_client, pair["access_token"]) == {"active": False}


def test_revoked_access_token_is_inactive(client, oauth_client, pair):
    revoked = post_form(
        client, "/o/revoke/", {"token": pair["access_token"]}, **basic_auth(oauth_client)
    )
    assert revoked.status_code == 200

    assert introspect(client, oauth_client, pair["access_token"]) == {"active": False}


@pytest.mark.parametrize(
    "token",
    ["unknown", "a.b.c", "e30.e30.e30", "WyJ4Il0.e30.sig", "....", "eyJhbGciOiJub25lIn0.e30."],
)
def test_unknown_or_garbage_token_is_inactive(client, oauth_client, token):
    assert introspect(client, oauth_client, token) == {"active": False}


@pytest.mark.parametrize("same_kid", [False, True], ids=["foreign-kid", "our-kid"])
def test_jwt_signed_by_a_foreign_key_is_inactive(client, oauth_client, pair, same_kid):
    claims = claims_of(pair["access_token"])
    foreign = jose.generate_key("RS256")
    if same_kid:
        foreign.update({"kid": jose.unverified_header(pair["access_token"])["kid"]})

    forged = jose.sign(claims, foreign, typ="at+jwt")

    assert introspect(client, oauth_client, forged) == {"active": False}
    assert introspect(client, oauth_client, pair["access_token"])["active"] is True


def test_jwt_from_another_issuer_is_inactive(client, oauth_client, pair):
    claims = {**claims_of(pair["access_token"]), "iss": "https://evil.example.com"}

    token = jose.sign(claims, key_ring.signing_key(), typ="at+jwt")

    assert introspect(client, oauth_client, token) == {"active": False}


def test_other_clients_token_is_inactive_unless_the_client_may_introspect(
    client, oauth_client, pair
):
    other = ClientFactory()
    resource_server = ClientFactory(can_introspect=True)

    # RFC 7662 §4: the server decides which clients may learn about which tokens.
    assert introspect(client, other, pair["access_token"]) == {"active": False}
    assert introspect(client, other, pair["refresh_token"]) == {"active": False}
    assert introspect(client, resource_server, pair["access_token"])["active"] is True
    assert introspect(client, resource_server, pair["refresh_token"])["active"] is True


def test_secret_post_client_introspects(client, pair):
    resource_server = ClientFactory(
        can_introspect=True, token_endpoint_auth_method=Client.AuthMethod.CLIENT_SECRET_POST
    )
    data = {
        "token": pair["access_token"],
        "client_id": resource_server.client_id,
        "client_secret": resource_server.raw_secret,
    }

    assert post_form(client, "/o/introspect/", data).json()["active"] is True


def test_public_client_is_invalid_client(client, public_client, pair):
    data = {"token": pair["access_token"], "client_id": public_client.client_id}

    assert_oauth_error(post_form(client, "/o/introspect/", data), "invalid_client", status=401)


def test_unauthenticated_request_is_invalid_client(client, pair):
    response = post_form(client, "/o/introspect/", {"token": pair["access_token"]})

    # RFC 7662 §2.1: the endpoint requires authorization.
    assert_oauth_error(response, "invalid_client", status=401)


def test_wrong_secret_is_invalid_client(client, oauth_client, pair):
    oauth_client.raw_secret = "wrong"

    response = post_form(
        client, "/o/introspect/", {"token": pair["access_token"]}, **basic_auth(oauth_client)
    )

    assert_oauth_error(response, "invalid_client", status=401)
    assert response["WWW-Authenticate"].startswith("Basic")


def test_missing_token_is_invalid_request(client, oauth_client):
    response = post_form(client, "/o/introspect/", {}, **basic_auth(oauth_client))

    assert_oauth_error(response, "invalid_request")


def test_json_body_is_refused(client, oauth_client, pair):
    response = client.post(
        "/o/introspect/",
        {"token": pair["access_token"]},
        content_type="application/json",
        **basic_auth(oauth_client),
    )

    # RFC 7662 §2.1: the request is application/x-www-form-urlencoded.
    assert_oauth_error(response, "invalid_request")
