"""PKCE at the authorization endpoint (RFC 7636 §4.3, §4.4.1) and the token endpoint
(RFC 7636 §4.6); RFC 9700 §2.1.1 and security checklist 4."""

import secrets

import pytest

from oauthkit.provider.models import AuthorizationCode
from oauthkit.testing.factories import ClientFactory
from tests.helpers import (
    REDIRECT_URI,
    assert_oauth_error,
    assert_redirected_error,
    authorize_params,
    pkce_pair,
    query_of,
    token_request,
)

pytestmark = pytest.mark.django_db

AUTHORIZE = "/o/authorize/"


@pytest.fixture
def first_party(db):
    """A confidential client whose consent is skipped: a valid request redirects a code."""
    return ClientFactory(skip_consent=True)


@pytest.fixture
def native(db):
    return ClientFactory(public=True, skip_consent=True, redirect_uris=[REDIRECT_URI])


def authorize(http, oauth_client, **pkce):
    """An authorization request with exactly the PKCE parameters given."""
    params = authorize_params(oauth_client, None, **pkce)
    return http.get(AUTHORIZE, params)


def code_from(response) -> str:
    assert response.status_code == 302, (response.status_code, response.content)
    return query_of(response["Location"])["code"]


def redeem(http, oauth_client, code: str, verifier: str | None):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    return token_request(http, oauth_client, data)


# --- Authorization request (RFC 7636 §4.3, §4.4.1) ------------------------------------------


@pytest.mark.parametrize("who", ["native", "first_party"])
def test_missing_code_challenge_is_invalid_request(client, user, request, who):
    # RFC 7636 §4.4.1 for public clients; RFC 9700 §2.1.1 by default for every client.
    oauth_client = request.getfixturevalue(who)
    client.force_login(user)
    assert_redirected_error(authorize(client, oauth_client), "invalid_request")
    assert not AuthorizationCode.objects.exists()


def test_default_requires_pkce_even_for_a_client_registered_without_it(client, user):
    lax = ClientFactory(skip_consent=True, require_pkce=False)
    client.force_login(user)
    assert_redirected_error(authorize(client, lax), "invalid_request")


@pytest.mark.parametrize(
    "pkce",
    [
        # RFC 7636 §4.2: plain only when S256 is impossible; refused by default.
        pytest.param({"code_challenge_method": "plain"}, id="plain"),
        pytest.param({"code_challenge_method": None}, id="method-omitted-means-plain"),
        pytest.param({"code_challenge_method": "s256"}, id="method-wrong-case"),
        pytest.param({"code_challenge_method": "S512"}, id="unknown-method"),
        pytest.param({"code_challenge": "a" * 42}, id="challenge-too-short"),
        pytest.param({"code_challenge": "a" * 129}, id="challenge-too-long"),
        pytest.param({"code_challenge": "a" * 42 + "="}, id="challenge-padded"),
        pytest.param({"code_challenge": "a" * 42 + "+"}, id="challenge-bad-character"),
        pytest.param({"code_challenge": None}, id="method-without-challenge"),
        pytest.param({"code_challenge": ""}, id="method-with-empty-challenge"),
    ],
)
def test_bad_pkce_parameters_are_invalid_request(client, user, first_party, pkce):
    client.force_login(user)
    _, challenge = pkce_pair()
    params = {"code_challenge": challenge, "code_challenge_method": "S256", **pkce}
    assert_redirected_error(authorize(client, first_party, **params), "invalid_request")
    assert not AuthorizationCode.objects.exists()


def test_plain_is_accepted_when_allowed_and_the_verifier_is_compared_as_is(
    client, user, native, settings
):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ALLOW_PLAIN_PKCE": True}
    client.force_login(user)
    verifier = secrets.token_urlsafe(48)
    code = code_from(
        authorize(client, native, code_challenge=verifier, code_challenge_method="plain")
    )
    # Change the last character to one it cannot already be.
    wrong = verifier[:-1] + ("y" if verifier.endswith("x") else "x")
    assert_oauth_error(redeem(client, native, code, wrong), "invalid_grant")
    assert redeem(client, native, code, verifier).status_code == 200


def test_plain_is_the_default_method_when_allowed(client, user, native, settings):
    # RFC 7636 §4.3: code_challenge_method defaults to plain.
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ALLOW_PLAIN_PKCE": True}
    client.force_login(user)
    verifier = secrets.token_urlsafe(48)
    code = code_from(authorize(client, native, code_challenge=verifier))
    assert AuthorizationCode.objects.get().code_challenge_method == "plain"
    assert redeem(client, native, code, verifier).status_code == 200


def test_without_require_pkce_a_lax_confidential_client_may_skip_it(client, user, settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "REQUIRE_PKCE": False}
    lax = ClientFactory(skip_consent=True, require_pkce=False)
    client.force_login(user)
    code = code_from(authorize(client, lax))
    assert redeem(client, lax, code, None).status_code == 200


def test_without_require_pkce_a_method_without_a_challenge_is_still_invalid_request(
    client, user, settings
):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "REQUIRE_PKCE": False}
    lax = ClientFactory(skip_consent=True, require_pkce=False)
    client.force_login(user)
    response = authorize(client, lax, code_challenge_method="S256")
    assert_redirected_error(response, "invalid_request")


def test_without_require_pkce_public_and_strict_clients_still_need_it(
    client, user, native, settings
):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "REQUIRE_PKCE": False}
    strict = ClientFactory(skip_consent=True, require_pkce=True)
    lax_public = ClientFactory(
        public=True, skip_consent=True, require_pkce=False, redirect_uris=[REDIRECT_URI]
    )
    client.force_login(user)
    for oauth_client in (native, strict, lax_public):
        assert_redirected_error(authorize(client, oauth_client), "invalid_request")


# --- Token request (RFC 7636 §4.5, §4.6) ----------------------------------------------------


@pytest.fixture
def s256_code(client, user, native):
    """(code, verifier) issued to the public client with an S256 challenge."""
    client.force_login(user)
    verifier, challenge = pkce_pair()
    response = authorize(client, native, code_challenge=challenge, code_challenge_method="S256")
    return code_from(response), verifier, challenge


def test_right_verifier_gets_tokens(client, native, s256_code):
    code, verifier, _ = s256_code
    response = redeem(client, native, code, verifier)
    assert response.status_code == 200, response.content
    assert response.json()["access_token"]


@pytest.mark.parametrize(
    "wrong",
    [
        pytest.param(lambda verifier, challenge: secrets.token_urlsafe(48), id="other-verifier"),
        pytest.param(lambda verifier, challenge: challenge, id="the-challenge-itself"),
        pytest.param(lambda verifier, challenge: verifier[:-1], id="truncated"),
        pytest.param(lambda verifier, challenge: verifier + "=", id="malformed"),
        pytest.param(lambda verifier, challenge: "a" * 42, id="too-short"),
        pytest.param(lambda verifier, challenge: None, id="missing"),
        pytest.param(lambda verifier, challenge: "", id="empty"),
    ],
)
def test_wrong_or_missing_verifier_is_invalid_grant(client, native, s256_code, wrong):
    code, verifier, challenge = s256_code
    response = redeem(client, native, code, wrong(verifier, challenge))
    assert_oauth_error(response, "invalid_grant")
    assert "access_token" not in response.json()


def test_verifier_without_a_challenge_is_a_downgrade_and_invalid_grant(client, user, settings):
    # RFC 9700 §2.1.1 / checklist 4: a verifier for a code issued without a challenge
    # means someone stripped the challenge from the authorization request.
    settings.OAUTHKIT = {**settings.OAUTHKIT, "REQUIRE_PKCE": False}
    lax = ClientFactory(skip_consent=True, require_pkce=False)
    client.force_login(user)
    code = code_from(authorize(client, lax))
    verifier, _ = pkce_pair()
    assert_oauth_error(redeem(client, lax, code, verifier), "invalid_grant")
