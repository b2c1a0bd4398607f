"""Interoperability: Authlib's OpenID Connect client against the provider on a live server.

Authlib is set up the way a Django site sets it up for any OpenID Provider: the discovery
URL, the client's credentials and authentication method, the scope, S256 PKCE. Nothing in it
is specific to oauthkit. Authlib reads discovery, builds the authorization request (state,
nonce, code challenge), finds its state again in the response, redeems the code, validates
the ID token (signature against the JWKS, alg from discovery, iss, aud, exp, iat, nonce,
azp, at_hash), calls userinfo and refreshes. Only the browser's part, the login and consent
forms, is driven by hand with ``requests``.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.integrations.django_client import OAuth
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.discovery import OpenIDProviderMetadata
from django.test import RequestFactory
from joserfc.errors import InvalidClaimError

from oauthkit.testing.factories import ClientFactory, UserFactory

# The live server runs in another thread: its requests must see committed rows.
pytestmark = pytest.mark.django_db(transaction=True)

SCOPE = "openid profile email"
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
CHECKED_BOX = re.compile(r'<input type="checkbox" name="([^"]+)" value="([^"]*)"[^>]* checked>')
# A web application's redirect URI and a native app's loopback one (RFC 8252 §7.3); neither
# is followed, the test reads the Location header.
CLIENTS = {
    "confidential": {"redirect_uris": ["https://rp.example.com/callback"]},
    "public": {"public": True, "redirect_uris": ["http://127.0.0.1/callback"]},
}


@pytest.fixture
def issuer(django_db_setup, live_server, settings) -> str:
    """The live server's URL, made the issuer. The test database exists before the server
    starts: started first, the server would share the not yet created in-memory SQLite
    connection with the test thread, and both would use it at once."""
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ISSUER": live_server.url}
    return live_server.url


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def hidden_fields(page: str) -> dict[str, str | list[str]]:
    """What a browser submits: hidden inputs and checked checkboxes (the consent page's
    optional scopes are pre-checked)."""
    fields: dict = {name: html.unescape(value) for name, value in HIDDEN_INPUT.findall(page)}
    for name, value in CHECKED_BOX.findall(page):
        fields.setdefault(name, []).append(html.unescape(value))
    return fields


def relying_party(issuer: str, client):
    """Authlib's Django client, registered with nothing but standard configuration."""
    return OAuth().register(
        "provider",
        client_id=client.client_id,
        client_secret=client.raw_secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": SCOPE,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": client.token_endpoint_auth_method,
        },
    )


def id_token_checks(discovery: dict, client) -> dict:
    """Core §3.1.3.7 steps 2 and 3: iss is the discovered issuer, aud holds our client_id.

    Authlib checks iss only when given no options and never checks aud by default, so a
    careful relying party asks for both.
    """
    return {
        "iss": {"essential": True, "value": discovery["issuer"]},
        "aud": {"essential": True, "value": client.client_id},
    }


def sign_in_and_allow(authorization_url: str, user) -> str:
    """The browser: sign in, allow on the consent page; return the redirect's Location."""
    browser = requests.Session()
    login = browser.get(authorization_url, timeout=10)
    assert urlsplit(login.url).path == "/accounts/login/", (login.status_code, login.url)
    credentials = {"username": user.username, "password": "password"}
    # The CSRF token travels as the cookie and the form field, as in a browser.
    consent = browser.post(login.url, {**hidden_fields(login.text), **credentials}, timeout=10)
    assert consent.status_code == 200, (consent.status_code, consent.text)
    assert urlsplit(consent.url).path == "/o/authorize/", consent.url
    answer = browser.post(
        consent.url,
        {**hidden_fields(consent.text), "decision": "allow"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303, (answer.status_code, answer.text)  # RFC 9700 §4.12
    return answer.headers["Location"]


def test_discovery_document_passes_authlib_validation(issuer):
    discovery = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    # Discovery 1.0 §3 and RFC 8414 §2, as Authlib's own metadata models read them.
    OpenIDProviderMetadata(discovery).validate()
    assert discovery["issuer"] == issuer  # Discovery 1.0 §4.3: exactly the issuer
    for key in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        assert discovery[key].startswith(issuer + "/"), (key, discovery[key])
    assert "S256" in discovery["code_challenge_methods_supported"]
    assert "RS256" in discovery["id_token_signing_alg_values_supported"]  # Discovery 1.0 §3
    assert {"openid", "profile", "email"} <= set(discovery["scopes_supported"])


@pytest.mark.parametrize("kind", ["confidential", "public"])
def test_authlib_signs_in_reads_userinfo_and_refreshes(issuer, kind):
    user = UserFactory()
    client = ClientFactory(grant_types=["authorization_code", "refresh_token"], **CLIENTS[kind])
    redirect_uri = client.redirect_uris[0]
    rp = relying_party(issuer, client)
    discovery = rp.load_server_metadata()  # Authlib's own discovery request
    checks = id_token_checks(discovery, client)

    # Authlib builds the request and keeps state, nonce and code_verifier in the site's session.
    start = RequestFactory().get("/login/provider/")
    start.session = {}
    authorization_url = rp.authorize_redirect(start, redirect_uri)["Location"]
    sent = query_of(authorization_url)
    assert sent["code_challenge_method"] == "S256" and sent["code_challenge"]  # RFC 7636 §4.3
    assert sent["nonce"] and sent["state"]

    location = sign_in_and_allow(authorization_url, user)
    assert location.startswith(redirect_uri + "?"), location
    answer = query_of(location)
    assert answer["iss"] == discovery["issuer"]  # RFC 9207 §2.4
    assert answer["state"] == sent["state"]  # RFC 6749 §4.1.2

    # Authlib finds its state, redeems the code with the verifier and validates the ID token.
    callback = RequestFactory().get("/callback/", answer)
    callback.session = start.session
    token = rp.authorize_access_token(callback, claims_options=checks)
    assert "id_token" in token, token
    signed_in = token["userinfo"]  # the validated ID token's claims
    assert signed_in["nonce"] == sent["nonce"]  # Core §3.1.3.7 step 11
    assert signed_in["at_hash"]  # present, so Authlib checked it (Core §3.1.3.8)
    assert "auth_time" in signed_in
    # Authlib really checks: the same ID token fails for another access token or nonce.
    with pytest.raises(InvalidClaimError):
        rp.parse_id_token({**token, "access_token": "another"}, sent["nonce"], checks)
    with pytest.raises(InvalidClaimError):
        rp.parse_id_token(token, "another nonce", checks)

    # Core §5.3.2: userinfo's sub is the ID token's.
    info = rp.userinfo(token=token)
    assert info["sub"] == signed_in["sub"]
    assert info["email"] == user.email

    # Refresh through Authlib's session (RFC 6749 §6); Authlib sends the original scope.
    session = OAuth2Session(
        client.client_id,
        client.raw_secret,
        scope=SCOPE,
        token=token,
        token_endpoint_auth_method=client.token_endpoint_auth_method,
    )
    refreshed = session.refresh_token(discovery["token_endpoint"])
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] != token["refresh_token"]  # RFC 9700 §4.14.2 rotation
    renewed = rp.parse_id_token(refreshed, None, checks)
    # Core §12.2: same iss, sub, aud and auth_time as the original ID token.
    for claim in ("iss", "sub", "aud", "auth_time"):
        assert renewed[claim] == signed_in[claim], claim
    assert "nonce" not in renewed
    assert rp.userinfo(token=refreshed)["sub"] == signed_in["sub"]
