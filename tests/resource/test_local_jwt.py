"""Local mode, JWT access tokens (RFC 9068): the API runs in the provider's project."""

import time

import pytest
from django.core.management import call_command

from oauthkit import jose
from oauthkit.provider.keys import key_ring
from oauthkit.provider.models import AccessToken
from oauthkit.testing.factories import ClientFactory
from tests.helpers import get_code, redeem
from tests.resource.helpers import (
    ECHO,
    WHOAMI,
    assert_invalid_token,
    bearer,
    cc_token,
    claims_for,
    configure,
    forge,
    hs256_with_public_key,
    payload_of,
    raw_jwt,
    revoke,
    user_token,
    with_payload,
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.resource.api")]


def test_valid_token_sets_request_auth(client, user, oauth_client):
    token = user_token(client, user, oauth_client, scope="read write")
    row = AccessToken.objects.get()

    response = client.get(ECHO, **bearer(token))

    assert response.status_code == 200, response.content
    assert response.json() == {
        "scopes": ["read", "write"],
        "client_id": oauth_client.client_id,
        "subject": str(user.pk),
        "jti": row.jti,
        "expires_at": int(row.expires_at.timestamp()),
        "audience": ["https://testserver"],
    }


def test_forged_token_with_valid_claims_is_accepted(client, token_row):
    # The baseline for the refusals below: our forging makes tokens that do validate.
    response = client.get(ECHO, **bearer(forge(claims_for(token_row))))

    assert response.status_code == 200, response.content
    assert response.json()["jti"] == token_row.jti


@pytest.mark.parametrize(
    "offset",
    [
        # RFC 9068 §4 / RFC 7519 §4.1.4-5: a small leeway (30 s) for clock skew, no more.
        pytest.param({"exp": -10}, id="expired-within-leeway"),
        pytest.param({"nbf": 10}, id="not-before-within-leeway"),
    ],
)
def test_leeway_tolerates_small_clock_skew(client, token_row, offset):
    now = int(time.time())
    claims = claims_for(token_row, **{k: now + v for k, v in offset.items()})

    assert client.get(ECHO, **bearer(forge(claims))).status_code == 200


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"exp": -120}, id="expired"),
        pytest.param({"nbf": 120}, id="not-yet-valid"),
        pytest.param({"exp": None}, id="no-exp"),
        pytest.param({"exp": "never"}, id="exp-not-a-number"),
        pytest.param({"iss": "https://evil.example"}, id="wrong-issuer"),
        pytest.param({"iss": "https://testserver/"}, id="issuer-not-exactly-equal"),
        pytest.param({"aud": "https://other-api.example"}, id="other-audience"),
        pytest.param({"aud": ["https://a.example", "https://b.example"]}, id="audience-list"),
        pytest.param({"aud": None}, id="no-audience"),
        pytest.param({"client_id": None}, id="no-client-id"),
        pytest.param({"jti": None}, id="no-jti"),
    ],
)
def test_token_with_bad_claims_is_refused(client, token_row, overrides):
    now = int(time.time())
    # Time claims are offsets from now; None drops the claim.
    values = {
        k: now + v if k in ("exp", "nbf") and isinstance(v, int) else v
        for k, v in overrides.items()
    }
    token = forge(claims_for(token_row, **values))

    # RFC 9068 §4: iss, aud, exp (and nbf) are checked; RFC 6750 §3.1 invalid_token.
    assert_invalid_token(client.get(ECHO, **bearer(token)))


def test_audience_list_containing_this_api_is_accepted(client, token_row):
    token = forge(claims_for(token_row, aud=["https://other.example", "https://testserver"]))

    assert client.get(ECHO, **bearer(token)).status_code == 200


def test_token_for_another_audience_setting_is_refused(client, settings, user, oauth_client):
    token = user_token(client, user, oauth_client)
    configure(settings, {"AUDIENCE": "https://billing.example"})

    # RFC 9068 §4: the API rejects tokens whose aud does not name it.
    challenge = assert_invalid_token(client.get(ECHO, **bearer(token)))
    assert "audience" in challenge


@pytest.mark.parametrize(
    "typ", [pytest.param("JWT", id="JWT"), pytest.param(None, id="no-typ"), "id_token+jwt"]
)
def test_wrong_typ_is_refused(client, token_row, typ):
    # RFC 9068 §4: the typ header must be at+jwt, so an ID token is never an access token.
    assert_invalid_token(client.get(ECHO, **bearer(forge(claims_for(token_row), typ=typ))))


def test_application_at_jwt_typ_is_accepted(client, token_row):
    # RFC 7515 §4.1.9: "application/" may be written out.
    token = forge(claims_for(token_row), typ="application/at+jwt")

    assert client.get(ECHO, **bearer(token)).status_code == 200


def test_alg_none_is_refused(client, token_row):
    header = {"alg": "none", "kid": key_ring.signing_key()["kid"], "typ": "at+jwt"}

    assert_invalid_token(client.get(ECHO, **bearer(raw_jwt(header, claims_for(token_row)))))


def test_hs256_signed_with_the_public_key_is_refused(client, token_row):
    # Key confusion: an HMAC "signed" with the published public key must never verify.
    token = hs256_with_public_key(claims_for(token_row))

    assert_invalid_token(client.get(ECHO, **bearer(token)))


def test_unknown_kid_is_refused(client, token_row):
    other = jose.generate_key("RS256")

    assert_invalid_token(client.get(ECHO, **bearer(forge(claims_for(token_row), key=other))))


def test_known_kid_with_another_keys_signature_is_refused(client, token_row):
    other = jose.generate_key("RS256")
    other["kid"] = key_ring.signing_key()["kid"]

    assert_invalid_token(client.get(ECHO, **bearer(forge(claims_for(token_row), key=other))))


def test_tampered_payload_is_refused(client, user, oauth_client):
    token = user_token(client, user, oauth_client, scope="read")
    claims = {**payload_of(token), "scope": "read write"}

    assert_invalid_token(client.get(ECHO, **bearer(with_payload(token, claims))))


@pytest.mark.parametrize("token", ["a.b.c", "..", "x" * 9000, "not-a-jwt.e30.sig"])
def test_garbage_is_refused(client, token):
    assert_invalid_token(client.get(ECHO, **bearer(token)))


def test_revoked_token_is_refused(client, user, oauth_client):
    token = user_token(client, user, oauth_client)
    assert client.get(ECHO, **bearer(token)).status_code == 200

    revoke(client, oauth_client, token)

    # Default REVOCATION_CHECK "database": the jti's row says revoked.
    challenge = assert_invalid_token(client.get(ECHO, **bearer(token)))
    assert "revoked" in challenge


def test_the_revocation_query_answers_for_each_token_it_is_asked_about(
    client, user, oauth_client, django_assert_num_queries
):
    # Its SQL is compiled once per process and database; each request binds its own jti.
    kept, revoked = (user_token(client, user, oauth_client) for _ in range(2))
    revoke(client, oauth_client, revoked)

    for _ in range(2):
        with django_assert_num_queries(1):
            assert client.get(ECHO, **bearer(kept)).status_code == 200
        with django_assert_num_queries(1):
            assert_invalid_token(client.get(ECHO, **bearer(revoked)))


def test_token_whose_row_cleartokens_deleted_is_refused(client, user, oauth_client):
    token = user_token(client, user, oauth_client)
    revoke(client, oauth_client, token)
    call_command("cleartokens", verbosity=0)
    assert not AccessToken.objects.exists()

    # A JWT without its row is not known to be unrevoked: refused.
    assert_invalid_token(client.get(ECHO, **bearer(token)))


def test_token_of_deactivated_user_is_refused(client, user, oauth_client):
    token = user_token(client, user, oauth_client)
    user.is_active = False
    user.save()

    assert_invalid_token(client.get(ECHO, **bearer(token)))


def test_token_of_deactivated_client_is_refused(client, oauth_client):
    token = cc_token(client, oauth_client)
    oauth_client.is_active = False
    oauth_client.save()

    assert_invalid_token(client.get(ECHO, **bearer(token)))


def test_database_check_makes_one_query(client, oauth_client, django_assert_num_queries):
    token = cc_token(client, oauth_client)

    with django_assert_num_queries(1):
        response = client.get(ECHO, **bearer(token))

    assert response.status_code == 200


def cache_revocation(settings) -> None:
    # The provider writes revoked jtis to the cache the API reads (same locmem alias here).
    configure(
        settings,
        {"REVOCATION_CHECK": "cache", "CACHE": "default"},
        REVOCATION_CACHE="default",
    )


def test_cache_check_makes_no_query(client, settings, oauth_client, django_assert_num_queries):
    cache_revocation(settings)
    token = cc_token(client, oauth_client)

    with django_assert_num_queries(0):
        response = client.get(ECHO, **bearer(token))

    assert response.status_code == 200


def test_cache_check_refuses_revoked_token(client, settings, oauth_client, user):
    cache_revocation(settings)
    token = user_token(client, user, oauth_client)
    other = user_token(client, user, oauth_client)

    revoke(client, oauth_client, token)

    assert_invalid_token(client.get(ECHO, **bearer(token)))
    assert client.get(ECHO, **bearer(other)).status_code == 200


def test_cache_check_refuses_tokens_of_a_revoked_refresh_token(
    client, settings, oauth_client, user
):
    cache_revocation(settings)
    client.force_login(user)
    code, verifier = get_code(client, oauth_client)
    pair = redeem(client, oauth_client, code, verifier).json()

    # RFC 7009 §2.1: revoking the refresh token revokes the grant's access tokens, and those
    # reach the revocation list too.
    revoke(client, oauth_client, pair["refresh_token"], token_type_hint="refresh_token")

    assert_invalid_token(client.get(ECHO, **bearer(pair["access_token"])))


def test_no_revocation_check_makes_no_query_and_accepts_revoked_tokens(
    client, settings, oauth_client, django_assert_num_queries
):
    configure(settings, {"REVOCATION_CHECK": "none"})
    token = cc_token(client, oauth_client)
    revoke(client, oauth_client, token)

    with django_assert_num_queries(0):
        response = client.get(ECHO, **bearer(token))

    # The documented trade-off of "none": a JWT lives until it expires.
    assert response.status_code == 200


def test_user_is_loaded_lazily(client, settings, user, oauth_client, django_assert_num_queries):
    configure(settings, {"REVOCATION_CHECK": "none"})
    token = user_token(client, user, oauth_client)

    with django_assert_num_queries(0):
        assert client.get(ECHO, **bearer(token)).status_code == 200
    with django_assert_num_queries(1):
        response = client.get(WHOAMI, **bearer(token))

    assert response.json() == {
        "user": "alice",
        "pk": user.pk,
        "is_authenticated": True,
        "client_id": None,
    }


def test_user_deactivated_after_the_check_is_anonymous(client, settings, user, oauth_client):
    # With no revocation check the token still validates, but an inactive user is not loaded.
    configure(settings, {"REVOCATION_CHECK": "none"})
    token = user_token(client, user, oauth_client)
    user.is_active = False
    user.save()

    body = client.get(WHOAMI, **bearer(token)).json()

    assert body["is_authenticated"] is False
    assert body["pk"] is None


def test_client_credentials_token_user_is_a_client_principal(client, django_assert_num_queries):
    oauth_client = ClientFactory()
    token = cc_token(client, oauth_client)

    with django_assert_num_queries(1):  # the revocation check; no user query
        response = client.get(WHOAMI, **bearer(token))

    assert response.json() == {
        "user": f"client:{oauth_client.client_id}",
        "pk": None,
        "is_authenticated": False,
        "client_id": oauth_client.client_id,
    }
