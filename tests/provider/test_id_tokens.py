"""ID tokens at the token endpoint (OpenID Connect Core §2, §3.1.3.3, §3.1.3.6, §12.2),
checked the way a relying party checks them: against the JWKS the provider serves."""

import base64
import hashlib
import json
import time
from datetime import timedelta

import pytest
from jwcrypto import jwk, jwt
from jwcrypto.common import JWException

from oauthkit.provider.keys import create_signing_key, key_ring
from oauthkit.provider.models import AccessToken, AuthorizationCode
from oauthkit.testing.factories import ClientFactory
from tests.helpers import (
    ISSUER,
    assert_oauth_error,
    authorize_params,
    basic_auth,
    consent_form,
    get_code,
    pkce_pair,
    post_form,
    query_of,
    redeem,
)

pytestmark = pytest.mark.django_db

OIDC_SCOPE = "openid profile email"
NONCE = "n-0S6_WzA2Mj"

# tests/conftest.py clears the key ring around every test: created keys do not leak.


def left_half_hash(value: str, algorithm: str) -> str:
    """at_hash computed independently (Core §3.1.3.6): left half of the hash of the ASCII
    octets, base64url without padding. EdDSA (Ed25519) uses SHA-512."""
    digest = (hashlib.sha512 if algorithm == "EdDSA" else hashlib.sha256)(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def verify_as_relying_party(http, id_token: str, alg: str = "RS256") -> tuple[dict, dict]:
    """Verify ``id_token`` with jwcrypto against /o/jwks/, allowing only ``alg``
    (Core §3.1.3.7 steps 6-7); return (header, claims)."""
    jwks = jwk.JWKSet.from_json(http.get("/o/jwks/").content)
    parsed = jwt.JWT(jwt=id_token, key=jwks, algs=[alg], expected_type="JWS")
    header = json.loads(parsed.token.objects["protected"])
    published = jwks.get_key(header["kid"])
    assert published is not None, header
    assert published.get("alg") == alg
    return header, json.loads(parsed.claims)


def code_flow(http, oauth_client, scope: str = OIDC_SCOPE, **extra) -> dict:
    code, verifier = get_code(http, oauth_client, scope=scope, **extra)
    response = redeem(http, oauth_client, code, verifier)
    assert response.status_code == 200, response.content
    return response.json()


def refresh(http, oauth_client, refresh_token: str, **extra):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    return post_form(http, "/o/token/", data, **basic_auth(oauth_client))


def test_no_openid_scope_means_no_id_token(client, user, oauth_client):
    # Core §3.1.3.3: the ID token comes with the openid scope; plain OAuth stays plain.
    client.force_login(user)
    body = code_flow(client, oauth_client, scope="read profile", nonce=NONCE)
    assert "id_token" not in body


def test_id_token_verifies_against_the_jwks(client, user, oauth_client):
    logged_in = int(time.time())
    client.force_login(user)
    before = int(time.time())
    body = code_flow(client, oauth_client, nonce=NONCE)
    after = int(time.time())

    header, claims = verify_as_relying_party(client, body["id_token"])
    assert header["alg"] == "RS256"  # Client Registration §2 default
    assert header["kid"] == key_ring.signing_key()["kid"]
    assert header["typ"] == "JWT"
    # Core §2 and §3.1.3.7.
    assert claims["iss"] == ISSUER
    assert claims["sub"] == str(user.pk)
    assert claims["aud"] == oauth_client.client_id
    assert claims["azp"] == oauth_client.client_id
    assert before <= claims["iat"] <= after
    assert claims["exp"] == claims["iat"] + 3600
    assert claims["nonce"] == NONCE
    assert claims["at_hash"] == left_half_hash(body["access_token"], "RS256")
    # force_login went through user_logged_in, which records the sign-in time.
    assert logged_in <= claims["auth_time"] <= before
    # Core §5.4: with an access token issued, scope claims are served by UserInfo.
    assert "email" not in claims and "name" not in claims


def test_id_token_lifetime_follows_the_setting(client, user, oauth_client, settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ID_TOKEN_LIFETIME": timedelta(minutes=7)}
    client.force_login(user)
    body = code_flow(client, oauth_client, nonce=NONCE)

    _, claims = verify_as_relying_party(client, body["id_token"])
    assert claims["exp"] == claims["iat"] + 420
    assert body["expires_in"] == 3600  # the access token keeps its own lifetime


def test_auth_time_is_the_time_of_the_real_login(client, user, oauth_client):
    verifier, challenge = pkce_pair()
    params = authorize_params(oauth_client, challenge, scope=OIDC_SCOPE, nonce=NONCE)
    login_page = client.get("/o/authorize/", params)
    assert login_page.status_code == 302
    next_url = query_of(login_page["Location"])["next"]

    before = int(time.time())
    signed_in = client.post(
        "/accounts/login/", {"username": "alice", "password": "password", "next": next_url}
    )
    after = int(time.time())
    assert signed_in.status_code == 302, signed_in.content
    consent = client.get(signed_in["Location"])
    answer = client.post("/o/authorize/", {**consent_form(consent), "decision": "allow"})
    code = query_of(answer["Location"])["code"]
    body = redeem(client, oauth_client, code, verifier).json()

    _, claims = verify_as_relying_party(client, body["id_token"])
    # Core §2: auth_time is when the user authenticated, not when the token was made.
    assert before <= claims["auth_time"] <= after
    assert claims["nonce"] == NONCE


@pytest.mark.parametrize(
    "nonce",
    [
        "a b+c/d=e?f&g#h%20",  # URL-special characters, decoded once and kept
        "quote\"apostrophe'<tag>&amp;",  # HTML-special characters through the consent form
        "ünïcødé-☃-𝄞",  # non-ASCII, including a character outside the BMP
        " leading and trailing spaces ",
    ],
)
def test_nonce_is_echoed_exactly(client, user, oauth_client, nonce):
    # Core §3.1.3.7 step 11: the RP compares the nonce for exact equality. The consent page
    # carries it in a hidden field, so it goes through HTML escaping and back.
    client.force_login(user)
    verifier, challenge = pkce_pair()
    params = authorize_params(oauth_client, challenge, scope=OIDC_SCOPE, nonce=nonce)
    fields = consent_form(client.get("/o/authorize/", params))
    assert fields["nonce"] == nonce
    answer = client.post("/o/authorize/", {**fields, "decision": "allow"})
    code = query_of(answer["Location"])["code"]
    body = redeem(client, oauth_client, code, verifier).json()

    _, claims = verify_as_relying_party(client, body["id_token"])
    assert claims["nonce"] == nonce


def test_no_nonce_means_no_nonce_claim(client, user, oauth_client):
    client.force_login(user)
    body = code_flow(client, oauth_client)

    _, claims = verify_as_relying_party(client, body["id_token"])
    assert "nonce" not in claims
    assert claims["sub"] == str(user.pk)


def test_public_client_gets_an_id_token(client, user, public_client):
    client.force_login(user)
    body = code_flow(client, public_client, nonce=NONCE)

    _, claims = verify_as_relying_party(client, body["id_token"])
    assert claims["aud"] == public_client.client_id
    assert claims["at_hash"] == left_half_hash(body["access_token"], "RS256")


@pytest.mark.parametrize("alg", ["ES256", "PS256", "EdDSA"])
def test_client_algorithm_signs_its_id_tokens(client, user, alg):
    # Client Registration §2 id_token_signed_response_alg; the kid names the key (JWS §4.1.4).
    key = create_signing_key(alg)
    oauth_client = ClientFactory(id_token_signed_response_alg=alg)
    client.force_login(user)
    body = code_flow(client, oauth_client, nonce=NONCE)

    header, claims = verify_as_relying_party(client, body["id_token"], alg=alg)
    assert header["alg"] == alg
    assert header["kid"] == key.kid
    assert claims["nonce"] == NONCE
    # Core §3.1.3.6: the hash of the signing algorithm; SHA-512 for Ed25519.
    assert claims["at_hash"] == left_half_hash(body["access_token"], alg)
    # Only the listed algorithm: an RS256 relying party would refuse this token.
    with pytest.raises(JWException):
        verify_as_relying_party(client, body["id_token"], alg="RS256")


def test_other_clients_keep_rs256_when_another_key_exists(client, user, oauth_client):
    create_signing_key("ES256")
    client.force_login(user)
    body = code_flow(client, oauth_client, nonce=NONCE)

    header, _ = verify_as_relying_party(client, body["id_token"], alg="RS256")
    assert header["alg"] == "RS256"


def test_client_algorithm_without_a_key_is_a_json_server_error(client, user):
    # RFC 6749 §5.2 server_error as JSON, not a traceback page; nothing is issued.
    oauth_client = ClientFactory(id_token_signed_response_alg="ES256")
    client.force_login(user)
    code, verifier = get_code(client, oauth_client, scope=OIDC_SCOPE, nonce=NONCE)

    response = redeem(client, oauth_client, code, verifier)

    assert_oauth_error(response, "server_error", status=500)
    assert response["Content-Type"] == "application/json"
    assert not AccessToken.objects.exists()
    # The transaction rolled back: once the key exists, the client can retry the code.
    assert AuthorizationCode.objects.get().used_at is None
    create_signing_key("ES256")
    retried = redeem(client, oauth_client, code, verifier)
    assert retried.status_code == 200, retried.content
    header, _ = verify_as_relying_party(client, retried.json()["id_token"], alg="ES256")
    assert header["alg"] == "ES256"


def test_refresh_issues_a_new_id_token_with_the_same_sub_and_auth_time(client, user, oauth_client):
    client.force_login(user)
    first = code_flow(client, oauth_client, nonce=NONCE)
    _, original = verify_as_relying_party(client, first["id_token"])

    response = refresh(client, oauth_client, first["refresh_token"])

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id_token"] != first["id_token"]
    _, renewed = verify_as_relying_party(client, body["id_token"])
    # Core §12.2: same iss, sub, aud and auth_time; no nonce; a new at_hash.
    assert renewed["iss"] == original["iss"]
    assert renewed["sub"] == original["sub"]
    assert renewed["aud"] == original["aud"]
    assert renewed["auth_time"] == original["auth_time"]
    assert renewed["iat"] >= original["iat"]
    assert "nonce" not in renewed
    assert renewed["at_hash"] == left_half_hash(body["access_token"], "RS256")
    assert renewed["at_hash"] != original["at_hash"]


def test_refresh_narrowed_without_openid_has_no_id_token(client, user, oauth_client):
    client.force_login(user)
    first = code_flow(client, oauth_client, scope="openid profile read", nonce=NONCE)

    without = refresh(client, oauth_client, first["refresh_token"], scope="read")
    assert without.status_code == 200, without.content
    assert "id_token" not in without.json()

    # RFC 6749 §6: the rotated token keeps the original scope, so openid comes back.
    again = refresh(client, oauth_client, without.json()["refresh_token"], scope="openid")
    assert again.status_code == 200, again.content
    _, claims = verify_as_relying_party(client, again.json()["id_token"])
    assert claims["sub"] == str(user.pk)


def test_refresh_keeps_the_client_algorithm(client, user):
    create_signing_key("EdDSA")
    oauth_client = ClientFactory(id_token_signed_response_alg="EdDSA")
    client.force_login(user)
    first = code_flow(client, oauth_client, nonce=NONCE)

    body = refresh(client, oauth_client, first["refresh_token"]).json()

    header, claims = verify_as_relying_party(client, body["id_token"], alg="EdDSA")
    assert header["alg"] == "EdDSA"
    assert claims["at_hash"] == left_half_hash(body["access_token"], "EdDSA")


def test_client_credentials_never_gets_an_id_token(client, oauth_client):
    # Core §3.1.3.3: an ID token is about an end-user; a client acting for itself has none.
    response = post_form(
        client,
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "openid profile read"},
        **basic_auth(oauth_client),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert "openid" in body["scope"].split()
    assert "id_token" not in body


def test_id_token_issuer_is_the_discovery_issuer(client, user, oauth_client):
    # Core §3.1.3.7 step 2: iss must equal the issuer of the discovery document.
    client.force_login(user)
    body = code_flow(client, oauth_client, nonce=NONCE)
    discovery = client.get("/.well-known/openid-configuration").json()

    _, claims = verify_as_relying_party(client, body["id_token"])
    assert claims["iss"] == discovery["issuer"]
    assert set(claims) <= set(discovery["claims_supported"])
