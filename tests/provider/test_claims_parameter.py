"""The OpenID Connect ``claims`` request parameter (Core §5.5), end to end."""

import json

import pytest

from oauthkit import jose
from oauthkit.provider.keys import key_ring
from tests.helpers import basic_auth, get_code, post_form, query_of, redeem

pytestmark = pytest.mark.django_db

CLAIMS = {
    "userinfo": {"email": {"essential": True}},
    "id_token": {"name": None, "preferred_username": {"essential": True}},
}


@pytest.fixture
def named_user(user):
    user.first_name, user.last_name, user.email = "Alice", "Liddell", "alice@example.com"
    user.save()
    return user


def id_token_claims(id_token: str) -> dict:
    return jose.verify(id_token, key_ring.verification_keys(), algs=jose.SUPPORTED_ALGORITHMS)[1]


def test_requested_claims_reach_the_id_token_and_userinfo(client, named_user, oauth_client):
    client.force_login(named_user)
    scope = "openid profile email"
    code, verifier = get_code(client, oauth_client, scope=scope, claims=json.dumps(CLAIMS))
    tokens = redeem(client, oauth_client, code, verifier).json()

    # Scope claims normally go to userinfo only; the claims request puts these in the ID token.
    id_claims = id_token_claims(tokens["id_token"])
    assert id_claims["name"] == "Alice Liddell"
    assert id_claims["preferred_username"] == "alice"
    assert "email" not in id_claims  # asked for userinfo only

    userinfo = client.get(
        "/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}"
    ).json()
    assert userinfo["email"] == "alice@example.com"


def test_the_claims_request_never_widens_the_granted_scopes(client, named_user, oauth_client):
    # The user consented to scopes: a claim whose scope was not granted is not released.
    client.force_login(named_user)
    code, verifier = get_code(client, oauth_client, scope="openid", claims=json.dumps(CLAIMS))
    tokens = redeem(client, oauth_client, code, verifier).json()

    assert "name" not in id_token_claims(tokens["id_token"])
    userinfo = client.get(
        "/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}"
    ).json()
    assert userinfo == {"sub": str(named_user.pk)}


def test_the_refreshed_id_token_keeps_the_claims_request(client, named_user, oauth_client):
    client.force_login(named_user)
    code, verifier = get_code(
        client, oauth_client, scope="openid profile", claims=json.dumps(CLAIMS)
    )
    refresh_token = redeem(client, oauth_client, code, verifier).json()["refresh_token"]

    refreshed = post_form(
        client,
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        **basic_auth(oauth_client),
    ).json()

    assert id_token_claims(refreshed["id_token"])["name"] == "Alice Liddell"


@pytest.mark.parametrize(
    "claims",
    ["not json", "[]", '{"userinfo": []}', '{"id_token": {"name": 1}}'],
)
def test_a_malformed_claims_request_is_invalid_request(client, user, oauth_client, claims):
    from tests.helpers import authorize_params, pkce_pair

    client.force_login(user)
    _, challenge = pkce_pair()
    params = authorize_params(oauth_client, challenge, scope="openid", claims=claims)
    response = client.get("/o/authorize/", params)
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "invalid_request"


def test_discovery_says_the_claims_parameter_is_supported(client):
    document = client.get("/.well-known/openid-configuration").json()
    assert document["claims_parameter_supported"] is True
    assert "form_post" in document["response_modes_supported"]
