"""Authorization code grant at /o/token/ (RFC 6749 §4.1.3, §4.1.4, §5.1, §5.2; RFC 9068).

PKCE verification at this endpoint is in tests/provider/test_pkce.py.
"""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from oauthkit import jose
from oauthkit.provider.keys import key_ring
from oauthkit.provider.models import AccessToken, AuthorizationCode, Client, RefreshToken
from oauthkit.testing.factories import ClientFactory
from tests.helpers import (
    ISSUER,
    REDIRECT_URI,
    assert_oauth_error,
    basic,
    get_code,
    post_form,
    redeem,
    token_request,
)

pytestmark = pytest.mark.django_db

TOKEN = "/o/token/"


@pytest.fixture
def issued(client, user, oauth_client):
    """(code, verifier) of an authorization the user allowed for the confidential client."""
    client.force_login(user)
    return get_code(client, oauth_client, scope="read write")


def code_request(code: str, verifier: str | None, **extra) -> dict:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        **extra,
    }


def verified_claims(token: str) -> dict:
    header, claims = jose.verify(
        token, key_ring.verification_keys(), algs=jose.SUPPORTED_ALGORITHMS, typ="at+jwt"
    )
    assert header["typ"] == "at+jwt"  # RFC 9068 §2.1
    return claims


# --- Success (RFC 6749 §5.1, RFC 9068 §2.2) -------------------------------------------------


def test_code_is_exchanged_for_a_signed_jwt_and_a_refresh_token(client, user, oauth_client, issued):
    code, verifier = issued
    response = token_request(client, oauth_client, code_request(code, verifier))
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "read write"
    assert body["refresh_token"]

    claims = verified_claims(body["access_token"])
    assert claims["iss"] == ISSUER
    assert claims["sub"] == str(user.pk)
    assert claims["aud"] == ISSUER
    assert claims["client_id"] == oauth_client.client_id
    assert claims["scope"] == "read write"
    assert claims["exp"] - claims["iat"] == 3600
    assert abs(claims["iat"] - timezone.now().timestamp()) < 60
    access = AccessToken.objects.get(jti=claims["jti"])
    assert (access.user, access.client, access.revoked_at) == (user, oauth_client, None)
    refresh = RefreshToken.objects.get()
    assert refresh.grant_id == access.grant_id == AuthorizationCode.objects.get().grant_id
    assert AuthorizationCode.objects.get().used_at is not None


def test_client_without_the_refresh_token_grant_gets_no_refresh_token(client, user):
    app = ClientFactory(grant_types=["authorization_code"])
    client.force_login(user)
    code, verifier = get_code(client, app)
    response = token_request(client, app, code_request(code, verifier))
    assert response.status_code == 200, response.content
    assert "refresh_token" not in response.json()
    assert not RefreshToken.objects.exists()


def test_public_client_redeems_with_client_id_and_no_secret(client, user, public_client):
    client.force_login(user)
    code, verifier = get_code(client, public_client)
    data = code_request(code, verifier, redirect_uri="http://127.0.0.1/cb")
    response = token_request(client, public_client, data)
    assert response.status_code == 200, response.content
    assert verified_claims(response.json()["access_token"])["client_id"] == (
        public_client.client_id
    )
    # Without its client_id a public client is not identified (RFC 6749 §3.2.1).
    again_code, again_verifier = get_code(client, public_client)
    anonymous = post_form(client, TOKEN, code_request(again_code, again_verifier))
    assert_oauth_error(anonymous, "invalid_client", 401)


def test_client_secret_post_client_redeems_with_the_secret_in_the_body(client, user):
    app = ClientFactory(token_endpoint_auth_method=Client.AuthMethod.CLIENT_SECRET_POST)
    client.force_login(user)
    code, verifier = get_code(client, app)
    response = token_request(client, app, code_request(code, verifier))
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("site", "client_format", "opaque"),
    [("opaque", "", True), ("jwt", "opaque", True), ("opaque", "jwt", False)],
)
def test_access_token_format_follows_the_client_then_the_site(
    client, user, settings, site, client_format, opaque
):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ACCESS_TOKEN_FORMAT": site}
    app = ClientFactory(access_token_format=client_format)
    client.force_login(user)
    code, verifier = get_code(client, app)
    response = token_request(client, app, code_request(code, verifier))
    assert response.status_code == 200, response.content
    token = response.json()["access_token"]
    assert ("." not in token) is opaque
    assert (AccessToken.objects.get().token_hash is not None) is opaque
    if not opaque:
        verified_claims(token)


# --- The code (RFC 6749 §4.1.3, §5.2 invalid_grant) -----------------------------------------


@pytest.mark.parametrize("missing", [None, ""])
def test_missing_code_is_invalid_request(client, oauth_client, issued, missing):
    _, verifier = issued
    response = token_request(client, oauth_client, code_request(missing, verifier))
    assert_oauth_error(response, "invalid_request")


@pytest.mark.parametrize("wrong", ["not-a-code", " ", "A" * 43])
def test_unknown_code_is_invalid_grant(client, oauth_client, issued, wrong):
    _, verifier = issued
    response = token_request(client, oauth_client, code_request(wrong, verifier))
    assert_oauth_error(response, "invalid_grant")


def test_code_issued_to_another_client_is_invalid_grant(client, oauth_client, issued):
    code, verifier = issued
    thief = ClientFactory()
    assert_oauth_error(token_request(client, thief, code_request(code, verifier)), "invalid_grant")
    # The rightful client can still redeem it.
    assert token_request(client, oauth_client, code_request(code, verifier)).status_code == 200


def test_expired_code_is_invalid_grant(client, oauth_client, issued):
    code, verifier = issued
    AuthorizationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = token_request(client, oauth_client, code_request(code, verifier))
    assert_oauth_error(response, "invalid_grant")
    assert not AccessToken.objects.exists()


def test_code_lifetime_follows_the_setting(client, user, oauth_client, settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "AUTHORIZATION_CODE_LIFETIME": timedelta(seconds=30)}
    client.force_login(user)
    get_code(client, oauth_client)
    code = AuthorizationCode.objects.get()
    assert code.expires_at - code.created == timedelta(seconds=30)


@pytest.mark.parametrize(
    "redirect_uri",
    [None, "", "https://client.example.com/callback/", "https://client.example.com/other"],
)
def test_missing_or_different_redirect_uri_is_invalid_grant(
    client, oauth_client, issued, redirect_uri
):
    # RFC 6749 §4.1.3: required and identical when the authorization request included it.
    code, verifier = issued
    data = code_request(code, verifier, redirect_uri=redirect_uri)
    assert_oauth_error(token_request(client, oauth_client, data), "invalid_grant")


def test_client_no_longer_allowed_the_grant_is_unauthorized_client(client, oauth_client, issued):
    code, verifier = issued
    oauth_client.grant_types = ["client_credentials"]
    oauth_client.save()
    response = token_request(client, oauth_client, code_request(code, verifier))
    assert_oauth_error(response, "unauthorized_client")


# --- Replay (RFC 6749 §4.1.2, §10.5; checklist 5) -------------------------------------------


def test_second_redemption_fails_and_revokes_the_tokens_of_the_first(client, oauth_client, issued):
    code, verifier = issued
    first = token_request(client, oauth_client, code_request(code, verifier))
    assert first.status_code == 200, first.content
    tokens = first.json()

    replay = token_request(client, oauth_client, code_request(code, verifier))
    body = assert_oauth_error(replay, "invalid_grant")
    assert "access_token" not in body

    access = AccessToken.objects.get(jti=verified_claims(tokens["access_token"])["jti"])
    assert access.revoked_at is not None
    assert RefreshToken.objects.get().revoked_at is not None
    refreshed = token_request(
        client,
        oauth_client,
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert_oauth_error(refreshed, "invalid_grant")
    assert AccessToken.objects.count() == 1


@pytest.mark.parametrize(
    "replayed_as",
    ["after it expired", "with a wrong code_verifier", "without a code_verifier"],
)
def test_a_replay_that_would_fail_anyway_still_revokes(client, oauth_client, issued, replayed_as):
    # The replay is what matters (RFC 6749 §4.1.2); a thief's other mistakes must not hide it.
    code, verifier = issued
    assert token_request(client, oauth_client, code_request(code, verifier)).status_code == 200
    data = code_request(code, verifier)
    if replayed_as == "after it expired":
        AuthorizationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif replayed_as == "with a wrong code_verifier":
        data["code_verifier"] = "w" * 43
    else:
        del data["code_verifier"]

    body = assert_oauth_error(token_request(client, oauth_client, data), "invalid_grant")

    assert "already been used" in body["error_description"]
    assert not AccessToken.objects.active().exists()
    assert RefreshToken.objects.get().revoked_at is not None


def test_replay_revokes_only_that_authorization(client, oauth_client, issued):
    code, verifier = issued
    other_code, other_verifier = get_code(client, oauth_client)
    assert token_request(client, oauth_client, code_request(code, verifier)).status_code == 200
    other = token_request(client, oauth_client, code_request(other_code, other_verifier))
    token_request(client, oauth_client, code_request(code, verifier))
    other_jti = verified_claims(other.json()["access_token"])["jti"]
    assert AccessToken.objects.get(jti=other_jti).revoked_at is None


# --- Client authentication (RFC 6749 §2.3.1, §5.2 invalid_client) ---------------------------


def test_wrong_secret_with_basic_is_401_with_www_authenticate(client, oauth_client, issued):
    code, verifier = issued
    response = post_form(
        client,
        TOKEN,
        code_request(code, verifier),
        HTTP_AUTHORIZATION=basic(oauth_client.client_id, "wrong"),
    )
    assert_oauth_error(response, "invalid_client", 401)
    assert response["WWW-Authenticate"].startswith("Basic")
    assert not AuthorizationCode.objects.filter(used_at__isnull=False).exists()


def test_wrong_secret_in_the_body_is_401_without_www_authenticate(client, user):
    app = ClientFactory(token_endpoint_auth_method=Client.AuthMethod.CLIENT_SECRET_POST)
    client.force_login(user)
    code, verifier = get_code(client, app)
    data = code_request(code, verifier, client_id=app.client_id, client_secret="wrong")
    response = post_form(client, TOKEN, data)
    assert_oauth_error(response, "invalid_client", 401)
    assert "WWW-Authenticate" not in response


def test_client_must_use_its_registered_method(client, user, oauth_client, issued):
    code, verifier = issued
    # Registered client_secret_basic, presents client_secret_post.
    data = code_request(
        code, verifier, client_id=oauth_client.client_id, client_secret=oauth_client.raw_secret
    )
    assert_oauth_error(post_form(client, TOKEN, data), "invalid_client", 401)
    # Registered client_secret_basic, presents only its client_id.
    data = code_request(code, verifier, client_id=oauth_client.client_id)
    assert_oauth_error(post_form(client, TOKEN, data), "invalid_client", 401)
    # The code is still good for the properly authenticated client.
    assert token_request(client, oauth_client, code_request(code, verifier)).status_code == 200


# --- Request form (RFC 6749 §3.1, §3.2, §5.2) -----------------------------------------------


def test_unknown_grant_type_is_unsupported_grant_type(client, oauth_client, issued):
    code, verifier = issued
    data = code_request(code, verifier, grant_type="password")
    assert_oauth_error(token_request(client, oauth_client, data), "unsupported_grant_type")


def test_missing_grant_type_is_invalid_request(client, oauth_client, issued):
    code, verifier = issued
    data = code_request(code, verifier, grant_type=None)
    assert_oauth_error(token_request(client, oauth_client, data), "invalid_request")


@pytest.mark.parametrize("name", ["code", "code_verifier", "redirect_uri", "grant_type"])
def test_repeated_parameter_is_invalid_request(client, oauth_client, issued, name):
    code, verifier = issued
    data = code_request(code, verifier)
    data[name] = [data[name], data[name]]
    assert_oauth_error(token_request(client, oauth_client, data), "invalid_request")
    assert not AccessToken.objects.exists()


def test_json_body_is_invalid_request(client, oauth_client, issued):
    code, verifier = issued
    response = client.post(
        TOKEN,
        code_request(code, verifier),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(oauth_client.client_id, oauth_client.raw_secret),
    )
    assert_oauth_error(response, "invalid_request")


def test_multipart_body_is_invalid_request(client, oauth_client, issued):
    code, verifier = issued
    response = client.post(
        TOKEN,
        code_request(code, verifier),
        HTTP_AUTHORIZATION=basic(oauth_client.client_id, oauth_client.raw_secret),
    )
    assert response.request["CONTENT_TYPE"].startswith("multipart/form-data")
    assert_oauth_error(response, "invalid_request")


def test_parameters_in_the_query_string_are_invalid_request(client, oauth_client, issued):
    # RFC 6749 §3.2: the token request is sent in the form-encoded body.
    code, verifier = issued
    data = code_request(code, None)
    response = post_form(
        client,
        f"{TOKEN}?{urlencode({'code_verifier': verifier})}",
        data,
        HTTP_AUTHORIZATION=basic(oauth_client.client_id, oauth_client.raw_secret),
    )
    assert_oauth_error(response, "invalid_request")
    assert not AccessToken.objects.exists()


def test_get_is_405(client, oauth_client, issued):
    code, verifier = issued
    response = client.get(TOKEN, code_request(code, verifier))
    assert response.status_code == 405
    assert "POST" in response["Allow"]
    assert AuthorizationCode.objects.get().used_at is None


def test_code_of_a_user_deactivated_since_is_refused(client, user, oauth_client):
    client.force_login(user)
    code, verifier = get_code(client, oauth_client)
    user.is_active = False
    user.save()

    assert_oauth_error(redeem(client, oauth_client, code, verifier), "invalid_grant")
