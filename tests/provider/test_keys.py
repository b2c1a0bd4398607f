"""Signing keys: which key signs, what the JWKS publishes, and the process cache.

Driven through GET /o/jwks/ and client-credentials requests to /o/token/; tokens are
checked as a relying party would, with jwcrypto and the published JWKS only.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from jwcrypto import jwk, jwt

from oauthkit import jose
from oauthkit.conf import oauthkit_settings
from oauthkit.provider.keys import RETIREMENT_MARGIN, create_signing_key, key_ring
from oauthkit.provider.models import AccessToken, SigningKey
from tests.helpers import assert_oauth_error, basic_auth, post_form

pytestmark = pytest.mark.django_db

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth"}


@pytest.fixture(autouse=True)
def fresh_key_ring():
    # The key ring is process-wide; each test starts and ends with an empty cache.
    key_ring.clear()
    yield
    key_ring.clear()


@pytest.fixture
def settings_kid(settings) -> str:
    """The kid of the one RS256 key tests/settings.py configures."""
    return jose.parse_key(settings.OAUTHKIT["SIGNING_KEYS"][0])["kid"]


@pytest.fixture
def no_configured_key(settings):
    settings.OAUTHKIT = {"ISSUER": "https://testserver"}


def issue(http, oauth_client) -> str:
    response = post_form(
        http, "/o/token/", {"grant_type": "client_credentials"}, **basic_auth(oauth_client)
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def jwks_of(http) -> dict:
    response = http.get("/o/jwks/")
    assert response.status_code == 200
    return response.json()


def published_kids(http) -> set[str]:
    return {key["kid"] for key in jwks_of(http)["keys"]}


def verify_as_relying_party(token: str, jwks: dict) -> dict:
    """Verify ``token`` with nothing but the JWKS document, as a resource server does."""
    keyset = jwk.JWKSet.from_json(json.dumps(jwks))
    parsed = jwt.JWT(jwt=token, key=keyset, algs=list(jose.SUPPORTED_ALGORITHMS))
    return json.loads(parsed.claims)


def introspect(http, oauth_client, token: str) -> dict:
    response = post_form(http, "/o/introspect/", {"token": token}, **basic_auth(oauth_client))
    assert response.status_code == 200, response.content
    return response.json()


def kid_of(token: str) -> str:
    return jose.unverified_header(token)["kid"]


# --- which key signs ----------------------------------------------------------------------


def test_settings_key_signs_when_no_database_key_exists(client, oauth_client, settings_kid):
    token = issue(client, oauth_client)

    assert not SigningKey.objects.exists()
    header = jose.unverified_header(token)
    assert header == {"alg": "RS256", "kid": settings_kid, "typ": "at+jwt"}  # RFC 9068 §2.1
    jwks = jwks_of(client)
    assert [key["kid"] for key in jwks["keys"]] == [settings_kid]
    claims = verify_as_relying_party(token, jwks)
    assert claims["client_id"] == oauth_client.client_id


def test_jwks_publishes_public_halves_only_and_may_be_cached(client, oauth_client):
    create_signing_key("ES256")
    response = client.get("/o/jwks/")
    keys = response.json()["keys"]
    assert len(keys) == 2
    for key in keys:
        assert not PRIVATE_MEMBERS & key.keys(), key
        assert key["use"] == "sig"
        assert key["alg"] in jose.SUPPORTED_ALGORITHMS
    assert response["Cache-Control"].startswith("public")
    assert response["Access-Control-Allow-Origin"] == "*"


def test_a_database_key_signs_newer_tokens_and_the_settings_key_stays_published(
    client, oauth_client, settings_kid
):
    old_token = issue(client, oauth_client)
    row = create_signing_key("ES256")

    new_token = issue(client, oauth_client)

    assert kid_of(old_token) == settings_kid
    assert jose.unverified_header(new_token)["kid"] == row.kid
    assert jose.unverified_header(new_token)["alg"] == "ES256"
    jwks = jwks_of(client)
    assert {key["kid"] for key in jwks["keys"]} == {settings_kid, row.kid}
    for token in (old_token, new_token):
        verify_as_relying_party(token, jwks)
        assert introspect(client, oauth_client, token)["active"] is True


def test_the_newest_active_database_key_signs(client, oauth_client):
    older = create_signing_key("ES256")
    older.created = timezone.now() - timedelta(days=1)
    older.save()
    newer = create_signing_key("EdDSA")
    assert kid_of(issue(client, oauth_client)) == newer.kid
    newer.active = False
    newer.retired_at = timezone.now()
    newer.save()
    assert kid_of(issue(client, oauth_client)) == older.kid


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA", "PS256"])
def test_database_keys_of_each_algorithm_sign_tokens_a_relying_party_verifies(
    client, oauth_client, algorithm
):
    row = create_signing_key(algorithm)

    token = issue(client, oauth_client)

    header = jose.unverified_header(token)
    assert (header["alg"], header["kid"]) == (algorithm, row.kid)
    jwks = jwks_of(client)
    published = next(key for key in jwks["keys"] if key["kid"] == row.kid)
    assert published["alg"] == algorithm
    claims = verify_as_relying_party(token, jwks)
    assert claims["jti"] == AccessToken.objects.get().jti


# --- retirement ---------------------------------------------------------------------------


def retire(row: SigningKey, at) -> None:
    row.active = False
    row.retired_at = at
    row.save()  # post_save clears this process's key cache


def test_a_retired_key_stays_published_while_its_tokens_may_be_valid(
    client, oauth_client, settings_kid
):
    row = create_signing_key("ES256")
    token = issue(client, oauth_client)
    assert kid_of(token) == row.kid

    retire(row, timezone.now())
    newer = issue(client, oauth_client)

    assert kid_of(newer) == settings_kid  # the retired key no longer signs
    jwks = jwks_of(client)
    assert row.kid in {key["kid"] for key in jwks["keys"]}
    verify_as_relying_party(token, jwks)
    assert introspect(client, oauth_client, token)["active"] is True


def test_a_retired_key_leaves_the_jwks_once_its_tokens_have_expired(
    client, oauth_client, settings_kid
):
    row = create_signing_key("ES256")
    token = issue(client, oauth_client)
    window = oauthkit_settings.ACCESS_TOKEN_LIFETIME + RETIREMENT_MARGIN

    retire(row, timezone.now() - window + timedelta(minutes=1))
    assert row.kid in published_kids(client)

    retire(row, timezone.now() - window - timedelta(seconds=1))
    assert published_kids(client) == {settings_kid}
    # Its signature can no longer be checked, so the token is not ours any more.
    assert introspect(client, oauth_client, token) == {"active": False}


def test_the_retirement_window_follows_the_signed_tokens_lifetime(client, settings, settings_kid):
    # The longer of the access and ID token lifetimes, plus the margin.
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "ACCESS_TOKEN_LIFETIME": timedelta(minutes=10),
        "ID_TOKEN_LIFETIME": timedelta(minutes=5),
    }
    row = create_signing_key("ES256")
    retire(row, timezone.now() - timedelta(minutes=14))
    assert row.kid in published_kids(client)
    retire(row, timezone.now() - timedelta(minutes=16))
    assert published_kids(client) == {settings_kid}


def test_a_deactivated_key_without_retirement_time_is_not_published(client, settings_kid):
    row = create_signing_key("ES256")
    retire(row, None)
    assert published_kids(client) == {settings_kid}


# --- the process cache --------------------------------------------------------------------


def test_the_key_ring_is_served_from_memory_after_the_first_load(client, django_assert_num_queries):
    row = create_signing_key("ES256")
    key_ring.clear()
    with django_assert_num_queries(1):
        first = key_ring.current()
    with django_assert_num_queries(0):
        assert key_ring.current() is first
        assert key_ring.signing_key()["kid"] == row.kid
        assert row.kid in key_ring.verification_keys(row.kid)
        assert len(key_ring.jwks()["keys"]) == 2
        assert jwks_of(client) == key_ring.jwks()


def test_an_unknown_kid_right_after_a_load_does_not_query(django_assert_num_queries):
    # Tokens naming random kids must not turn into one query each (reloads are rate-limited).
    key_ring.current()
    with django_assert_num_queries(0):
        for n in range(5):
            assert f"unknown-{n}" not in key_ring.verification_keys(f"unknown-{n}")


def test_saving_or_deleting_a_signing_key_clears_the_cache(client, settings_kid):
    assert published_kids(client) == {settings_kid}
    row = create_signing_key("EdDSA")
    assert published_kids(client) == {settings_kid, row.kid}
    row.delete()
    assert published_kids(client) == {settings_kid}


def test_a_key_created_without_signals_is_found_after_the_cache_timeout(client, settings_kid):
    assert published_kids(client) == {settings_kid}
    key = jose.generate_key("ES256")
    # Another process's rotatekeys: bulk_create sends no post_save to this process.
    SigningKey.objects.bulk_create(
        [SigningKey(kid=key["kid"], algorithm="ES256", private_jwk=key.export_private())]
    )
    assert published_kids(client) == {settings_kid}
    key_ring.current().loaded_at -= oauthkit_settings.KEY_CACHE_TIMEOUT.total_seconds() + 1
    assert published_kids(client) == {settings_kid, key["kid"]}


def test_changing_settings_clears_the_cache(client, oauth_client, settings, settings_kid):
    assert published_kids(client) == {settings_kid}
    replacement = jose.generate_key("ES256")
    settings.OAUTHKIT = {**settings.OAUTHKIT, "SIGNING_KEYS": [replacement.export_private()]}

    assert published_kids(client) == {replacement["kid"]}
    assert kid_of(issue(client, oauth_client)) == replacement["kid"]


# --- no key configured --------------------------------------------------------------------


@pytest.mark.usefixtures("no_configured_key")
def test_debug_generates_one_development_key_and_reuses_it(client, oauth_client, settings, caplog):
    settings.DEBUG = True
    caplog.set_level(logging.WARNING, logger="oauthkit")

    first = issue(client, oauth_client)
    second = issue(client, oauth_client)
    key_ring.clear()  # as a fresh process would: the row is found, not generated again
    third = issue(client, oauth_client)

    row = SigningKey.objects.get()
    assert row.algorithm == "RS256"
    assert {kid_of(first), kid_of(second), kid_of(third)} == {row.kid}
    assert published_kids(client) == {row.kid}
    assert SigningKey.objects.count() == 1
    generated = [r for r in caplog.records if "development signing key" in r.getMessage()]
    assert len(generated) == 1


@pytest.mark.usefixtures("no_configured_key")
def test_debug_development_key_uses_the_signing_algorithm_setting(client, oauth_client, settings):
    settings.DEBUG = True
    settings.OAUTHKIT = {**settings.OAUTHKIT, "SIGNING_ALGORITHM": "EdDSA"}
    token = issue(client, oauth_client)
    assert jose.unverified_header(token)["alg"] == "EdDSA"
    assert SigningKey.objects.get().algorithm == "EdDSA"


@pytest.mark.usefixtures("no_configured_key")
def test_without_debug_and_without_key_the_token_endpoint_answers_server_error(
    client, oauth_client, caplog
):
    caplog.set_level(logging.ERROR, logger="oauthkit")
    response = post_form(
        client, "/o/token/", {"grant_type": "client_credentials"}, **basic_auth(oauth_client)
    )

    # RFC 6749 §5.2: a JSON error, not a traceback page; nothing was half-issued.
    body = assert_oauth_error(response, "server_error", status=500)
    assert "access_token" not in body
    assert not AccessToken.objects.exists()
    assert not SigningKey.objects.exists()  # never generated outside DEBUG
    assert any(r.exc_info and "signing key" in str(r.exc_info[1]) for r in caplog.records)
    assert published_kids(client) == set()


@pytest.mark.usefixtures("no_configured_key")
def test_without_key_a_new_database_key_makes_issuing_work_again(client, oauth_client):
    data = {"grant_type": "client_credentials"}
    failed = post_form(client, "/o/token/", data, **basic_auth(oauth_client))
    assert failed.status_code == 500

    row = create_signing_key("ES256")  # manage.py rotatekeys in this process

    assert kid_of(issue(client, oauth_client)) == row.kid


@pytest.mark.usefixtures("no_configured_key")
def test_without_key_opaque_access_tokens_are_still_issued(client, oauth_client, settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ACCESS_TOKEN_FORMAT": "opaque"}
    token = issue(client, oauth_client)
    assert token.count(".") != 2  # opaque, no signature needed
    assert introspect(client, oauth_client, token)["active"] is True


def test_a_public_settings_key_is_published_but_never_signs(client, oauth_client, settings):
    foreign = jose.generate_key("ES256")
    public_pem = foreign.export_to_pem(private_key=False).decode()
    private = settings.OAUTHKIT["SIGNING_KEYS"][0]
    settings.OAUTHKIT = {**settings.OAUTHKIT, "SIGNING_KEYS": [public_pem, private]}

    token = issue(client, oauth_client)

    assert kid_of(token) == jose.parse_key(private)["kid"]
    assert foreign["kid"] in published_kids(client)
