"""Implicit and hybrid response types (RFC 6749 §4.2; OIDC Core §3.2, §3.3; Multiple
Response Type Encoding Practices), off by default (RFC 9700 §2.1.2, checklist 7)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.checks import run_checks

from oauthkit import jose
from oauthkit.provider import signals
from oauthkit.provider.forms import ClientAdminForm
from oauthkit.provider.id_tokens import token_hash
from oauthkit.provider.keys import key_ring
from oauthkit.provider.models import AccessToken, AuthorizationCode, RefreshToken
from oauthkit.testing.factories import ClientFactory
from tests.helpers import (
    ISSUER,
    REDIRECT_URI,
    assert_error_page,
    assert_redirected_error,
    consent_form,
    form_post_of,
    pkce_pair,
    query_of,
    redeem,
)

pytestmark = pytest.mark.django_db

AUTHORIZE = "/o/authorize/"
METADATA = "/.well-known/oauth-authorization-server"
LEGACY_TYPES = ["token", "id_token", "id_token token", "code id_token", "code token"]
LEGACY_TYPES.append("code id_token token")


@pytest.fixture
def allow_implicit(settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ALLOW_IMPLICIT_FLOW": True}


@pytest.fixture
def app(db):
    """A client allowed the code and implicit flows, whose consent is not asked."""
    return ClientFactory(
        grant_types=["authorization_code", "implicit", "refresh_token"], skip_consent=True
    )


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def request_params(app, response_type: str, **extra) -> dict:
    params = {
        "response_type": response_type,
        "client_id": app.client_id,
        "redirect_uri": app.redirect_uris[0],
        "scope": "openid read",
        "state": "xyz",
        "nonce": "n-0S6_WzA2Mj",
        **extra,
    }
    return {k: v for k, v in params.items() if v is not None}


def fragment_of(response, status: int = 302) -> dict[str, str]:
    """The fragment parameters of a redirect to REDIRECT_URI, which has no query then."""
    assert response.status_code == status, (response.status_code, response.content)
    location = response["Location"]
    parts = urlsplit(location)
    assert location.startswith(REDIRECT_URI + "#"), location
    assert not parts.query  # never the query (Multiple Response Types §5)
    values = {k: v[0] for k, v in parse_qs(parts.fragment).items()}
    assert values["iss"] == ISSUER  # RFC 9207 §2
    assert values.get("state") == "xyz"
    return values


def fragment_error(response, error: str) -> dict[str, str]:
    values = fragment_of(response)
    assert values["error"] == error, values
    assert values["error_description"]
    assert not {"code", "access_token", "id_token"} & set(values)
    return values


def id_token_claims(token: str) -> dict:
    return jose.verify(token, key_ring.verification_keys(None), algs=("RS256",))[1]


# --- Off by default -----------------------------------------------------------------------


@pytest.mark.parametrize("response_type", LEGACY_TYPES)
def test_off_by_default_is_unsupported_response_type(signed_in, app, response_type):
    response = signed_in.get(AUTHORIZE, request_params(app, response_type))
    assert_redirected_error(response, "unsupported_response_type")
    assert not AccessToken.objects.exists() and not AuthorizationCode.objects.exists()


def test_discovery_advertises_them_only_while_the_switch_is_on(client, settings):
    document = client.get(METADATA).json()
    assert document["response_types_supported"] == ["code"]
    assert document["response_modes_supported"] == ["query", "form_post"]
    assert "implicit" not in document["grant_types_supported"]

    settings.OAUTHKIT = {**settings.OAUTHKIT, "ALLOW_IMPLICIT_FLOW": True}
    document = client.get(METADATA).json()
    assert document["response_types_supported"] == ["code", *LEGACY_TYPES]
    assert document["response_modes_supported"] == ["query", "form_post", "fragment"]
    assert "implicit" in document["grant_types_supported"]
    oidc = client.get("/.well-known/openid-configuration").json()
    assert oidc["response_types_supported"] == ["code", *LEGACY_TYPES]


def test_system_check_warns_while_the_switch_is_on(settings):
    assert "oauthkit.W007" not in {m.id for m in run_checks()}
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ALLOW_IMPLICIT_FLOW": True}
    warning = next(m for m in run_checks() if m.id == "oauthkit.W007")
    assert "RFC 9700" in warning.hint


def test_admin_form_offers_implicit_only_while_the_switch_is_on(settings, app, oauth_client):
    def choices(instance):
        return [v for v, _ in ClientAdminForm(instance=instance).fields["grant_types"].choices]

    assert "implicit" not in choices(oauth_client)
    assert "implicit" in choices(app)  # kept visible for a client that has it
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ALLOW_IMPLICIT_FLOW": True}
    assert "implicit" in choices(oauth_client)


# --- Implicit: token, id_token, id_token token --------------------------------------------


def test_token_in_the_fragment_without_refresh_token(signed_in, user, app, allow_implicit):
    issued = []
    signals.token_issued.connect(receiver := lambda **kw: issued.append(kw), weak=False)
    try:
        response = signed_in.get(AUTHORIZE, request_params(app, "token", scope="read"))
    finally:
        signals.token_issued.disconnect(receiver)

    values = fragment_of(response)
    assert values["token_type"] == "Bearer"
    assert 0 < int(values["expires_in"]) <= 3600
    # RFC 6749 §4.2.2: no refresh token; scope only when it differs from the request.
    assert set(values) == {"access_token", "token_type", "expires_in", "state", "iss"}
    assert not RefreshToken.objects.exists() and not AuthorizationCode.objects.exists()
    token = AccessToken.objects.get()
    assert (token.user, token.client, token.scope) == (user, app, "read")
    assert [kw["grant_type"] for kw in issued] == ["implicit"]
    assert response["Cache-Control"] == "no-store"


def test_the_front_channel_token_is_a_working_bearer_token(signed_in, app, allow_implicit):
    values = fragment_of(signed_in.get(AUTHORIZE, request_params(app, "token")))
    response = signed_in.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {values['access_token']}")
    assert response.status_code == 200, response.content


def test_scope_is_returned_when_it_differs_from_the_request(signed_in, allow_implicit):
    app = ClientFactory(grant_types=["implicit"], skip_consent=True, default_scopes=["write"])
    values = fragment_of(signed_in.get(AUTHORIZE, request_params(app, "token", scope=None)))
    assert values["scope"] == "write"


def test_id_token_alone_has_no_access_token_and_carries_scope_claims(
    signed_in, user, app, allow_implicit
):
    params = request_params(app, "id_token", scope="openid email")
    values = fragment_of(signed_in.get(AUTHORIZE, params))

    assert "access_token" not in values and "code" not in values
    assert not AccessToken.objects.exists()
    claims = id_token_claims(values["id_token"])
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["aud"] == app.client_id
    assert "at_hash" not in claims and "c_hash" not in claims
    # OIDC Core §5.4: no access token reaches UserInfo, so the email is in the ID token.
    assert claims["email"] == user.email


def test_id_token_token_binds_the_id_token_with_at_hash(signed_in, app, allow_implicit):
    params = request_params(app, "id_token token", scope="openid email")
    values = fragment_of(signed_in.get(AUTHORIZE, params))
    claims = id_token_claims(values["id_token"])
    assert claims["at_hash"] == token_hash(values["access_token"], "RS256")
    assert "email" not in claims  # UserInfo serves it, with the access token


def test_response_type_order_does_not_matter(signed_in, app, allow_implicit):
    values = fragment_of(signed_in.get(AUTHORIZE, request_params(app, "token id_token")))
    assert values["access_token"] and values["id_token"]


@pytest.mark.parametrize("response_type", ["id_token", "id_token token", "code id_token"])
def test_nonce_is_required_with_an_id_token(signed_in, app, allow_implicit, response_type):
    _, challenge = pkce_pair()
    params = request_params(
        app, response_type, nonce=None, code_challenge=challenge, code_challenge_method="S256"
    )
    fragment_error(signed_in.get(AUTHORIZE, params), "invalid_request")
    assert not AccessToken.objects.exists() and not AuthorizationCode.objects.exists()


def test_token_without_nonce_is_fine(signed_in, app, allow_implicit):
    values = fragment_of(signed_in.get(AUTHORIZE, request_params(app, "token", nonce=None)))
    assert values["access_token"]


def test_id_token_needs_the_openid_scope(signed_in, app, allow_implicit):
    fragment_error(
        signed_in.get(AUTHORIZE, request_params(app, "id_token", scope="read")), "invalid_scope"
    )


@pytest.mark.parametrize("response_type", ["TOKEN", "token token", "token  id_token", "none"])
def test_malformed_or_unknown_types_stay_unsupported(signed_in, app, allow_implicit, response_type):
    response = signed_in.get(AUTHORIZE, request_params(app, response_type))
    assert_redirected_error(response, "unsupported_response_type")


# --- Response modes ------------------------------------------------------------------------


def test_query_response_mode_is_refused_with_tokens(signed_in, app, allow_implicit):
    params = request_params(app, "token", response_mode="query")
    fragment_error(signed_in.get(AUTHORIZE, params), "invalid_request")
    assert not AccessToken.objects.exists()


def test_explicit_fragment_is_accepted(signed_in, app, allow_implicit):
    params = request_params(app, "token", response_mode="fragment")
    assert fragment_of(signed_in.get(AUTHORIZE, params))["access_token"]


def test_code_still_refuses_the_fragment_when_the_switch_is_on(signed_in, app, allow_implicit):
    _, challenge = pkce_pair()
    params = request_params(
        app,
        "code",
        response_mode="fragment",
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    assert_redirected_error(signed_in.get(AUTHORIZE, params), "invalid_request")


def test_form_post_carries_the_tokens(signed_in, app, allow_implicit):
    params = request_params(app, "id_token token", response_mode="form_post")
    action, fields = form_post_of(signed_in.get(AUTHORIZE, params))
    assert action == REDIRECT_URI
    assert fields["access_token"] and fields["id_token"]
    assert fields["token_type"] == "Bearer" and fields["state"] == "xyz"
    assert fields["iss"] == ISSUER


def test_the_registered_query_is_kept_before_the_fragment(signed_in, allow_implicit):
    uri = "https://client.example.com/callback?tenant=7"
    tenant = ClientFactory(grant_types=["implicit"], skip_consent=True, redirect_uris=[uri])
    response = signed_in.get(AUTHORIZE, request_params(tenant, "token"))
    location = response["Location"]
    assert location.startswith(uri + "#access_token="), location
    assert query_of(location) == {"tenant": "7"}


# --- Who may use them -----------------------------------------------------------------------


def test_client_without_the_implicit_grant_is_unauthorized_client(
    signed_in, oauth_client, allow_implicit
):
    response = signed_in.get(AUTHORIZE, request_params(oauth_client, "token"))
    fragment_error(response, "unauthorized_client")


def test_hybrid_needs_the_code_grant_too(signed_in, allow_implicit):
    spa = ClientFactory(grant_types=["implicit"], skip_consent=True)
    fragment_error(
        signed_in.get(AUTHORIZE, request_params(spa, "code token")), "unauthorized_client"
    )


def test_public_clients_may_use_the_implicit_flow(signed_in, allow_implicit):
    spa = ClientFactory(public=True, grant_types=["implicit"], skip_consent=True)
    spa.redirect_uris = [REDIRECT_URI]
    spa.save()
    assert fragment_of(signed_in.get(AUTHORIZE, request_params(spa, "token")))["access_token"]


def test_unregistered_redirect_uri_is_an_error_page(signed_in, app, allow_implicit):
    params = request_params(app, "token", redirect_uri="https://evil.example/cb")
    assert_error_page(signed_in.get(AUTHORIZE, params))


def test_prompt_none_without_a_session_answers_in_the_fragment(client, app, allow_implicit):
    fragment_error(
        client.get(AUTHORIZE, request_params(app, "token", prompt="none")), "login_required"
    )


# --- Hybrid: code id_token, code token, code id_token token --------------------------------


def hybrid(http, app, response_type: str, **extra) -> tuple[dict, str]:
    verifier, challenge = pkce_pair()
    params = request_params(
        app, response_type, code_challenge=challenge, code_challenge_method="S256", **extra
    )
    return fragment_of(http.get(AUTHORIZE, params)), verifier


def test_code_id_token_binds_the_code_with_c_hash(signed_in, app, allow_implicit):
    values, verifier = hybrid(signed_in, app, "code id_token")
    assert "access_token" not in values
    claims = id_token_claims(values["id_token"])
    assert claims["c_hash"] == token_hash(values["code"], "RS256")
    assert claims["nonce"] == "n-0S6_WzA2Mj"

    # The code is redeemed like any other, with the PKCE verifier.
    body = redeem(signed_in, app, values["code"], verifier).json()
    assert body["access_token"] and body["refresh_token"]
    assert id_token_claims(body["id_token"])["nonce"] == "n-0S6_WzA2Mj"


def test_code_id_token_token_has_both_hashes(signed_in, app, allow_implicit):
    values, _ = hybrid(signed_in, app, "code id_token token")
    claims = id_token_claims(values["id_token"])
    assert claims["c_hash"] == token_hash(values["code"], "RS256")
    assert claims["at_hash"] == token_hash(values["access_token"], "RS256")
    assert "refresh_token" not in values


def test_hybrid_requires_pkce_as_the_code_flow_does(signed_in, app, allow_implicit):
    fragment_error(signed_in.get(AUTHORIZE, request_params(app, "code token")), "invalid_request")
    assert not AccessToken.objects.exists() and not AuthorizationCode.objects.exists()


def test_a_replayed_hybrid_code_revokes_the_front_channel_token(signed_in, app, allow_implicit):
    values, verifier = hybrid(signed_in, app, "code token")
    assert redeem(signed_in, app, values["code"], verifier).status_code == 200
    assert redeem(signed_in, app, values["code"], verifier).status_code == 400
    # RFC 6749 §4.1.2: the front-channel token shares the code's grant, so it goes too.
    grant_id = AuthorizationCode.objects.get().grant_id
    tokens = AccessToken.objects.filter(grant_id=grant_id)
    assert tokens.count() == 2
    assert all(t.revoked_at is not None for t in tokens)


# --- Through the consent page ------------------------------------------------------------------


def test_consent_allow_answers_in_the_fragment_with_the_narrowed_scope(signed_in, allow_implicit):
    spa = ClientFactory(grant_types=["implicit"])
    page = signed_in.get(AUTHORIZE, request_params(spa, "token", scope="read write"))
    form = {**consent_form(page), "scope_granted": ["read"]}
    values = fragment_of(signed_in.post(AUTHORIZE, {**form, "decision": "allow"}), status=303)
    assert values["scope"] == "read"
    assert AccessToken.objects.get().scope == "read"


def test_consent_deny_answers_access_denied_in_the_fragment(signed_in, allow_implicit):
    spa = ClientFactory(grant_types=["implicit"])
    page = signed_in.get(AUTHORIZE, request_params(spa, "token"))
    response = signed_in.post(AUTHORIZE, {**consent_form(page), "decision": "deny"})
    assert fragment_of(response, status=303)["error"] == "access_denied"
    assert not AccessToken.objects.exists()
