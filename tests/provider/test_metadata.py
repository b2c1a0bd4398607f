"""Authorization server metadata (RFC 8414) and the JWKS (RFC 7517)."""

from urllib.parse import urlsplit

import pytest

from oauthkit import jose
from oauthkit.provider.grants.base import grant_registry
from tests.helpers import assert_oauth_error, basic_auth, post_form

pytestmark = pytest.mark.django_db

METADATA_URL = "/.well-known/oauth-authorization-server"
ENDPOINTS = [
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "revocation_endpoint",
    "introspection_endpoint",
]


def metadata(http) -> dict:
    response = http.get(METADATA_URL)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


def test_issuer_and_endpoints_are_absolute_and_resolve(client):
    body = metadata(client)

    # RFC 8414 §3.3: the issuer is the one the metadata was requested for.
    assert body["issuer"] == "https://testserver"
    for name in ENDPOINTS:
        url = body[name]
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc) == ("https", "testserver"), url
        assert not parts.query and not parts.fragment, url
        # Each URL reaches a view: a GET or a POST to it is never a 404.
        assert client.get(parts.path).status_code != 404, url
        assert client.post(parts.path).status_code != 404, url


def test_endpoints_answer_as_advertised(client, oauth_client):
    body = metadata(client)
    path = {name: urlsplit(body[name]).path for name in ENDPOINTS}

    token = post_form(
        client,
        path["token_endpoint"],
        {"grant_type": "client_credentials"},
        **basic_auth(oauth_client),
    )
    assert token.status_code == 200
    access = token.json()["access_token"]
    introspected = post_form(
        client, path["introspection_endpoint"], {"token": access}, **basic_auth(oauth_client)
    )
    assert introspected.json()["active"] is True
    revoked = post_form(
        client, path["revocation_endpoint"], {"token": access}, **basic_auth(oauth_client)
    )
    assert revoked.status_code == 200
    assert client.get(path["jwks_uri"]).json()["keys"]
    # Without a client_id the authorization endpoint shows an error page, not a 404.
    assert client.get(path["authorization_endpoint"]).status_code == 400


def test_issuer_follows_the_setting(client, settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ISSUER": "https://id.example.com/"}

    body = metadata(client)

    assert body["issuer"] == "https://id.example.com"
    assert body["token_endpoint"] == "https://id.example.com/o/token/"


def test_grant_types_supported_is_the_grant_registry(client, settings):
    assert metadata(client)["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
    ]
    assert metadata(client)["grant_types_supported"] == list(grant_registry())

    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "GRANT_TYPES": ["oauthkit.provider.grants.authorization_code.AuthorizationCodeGrant"],
    }

    # The registry is rebuilt on the settings change, and discovery follows it.
    assert metadata(client)["grant_types_supported"] == ["authorization_code"]


def test_a_grant_removed_from_settings_is_refused_at_the_token_endpoint(
    client, oauth_client, settings
):
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "GRANT_TYPES": ["oauthkit.provider.grants.authorization_code.AuthorizationCodeGrant"],
    }

    response = post_form(
        client, "/o/token/", {"grant_type": "client_credentials"}, **basic_auth(oauth_client)
    )

    assert_oauth_error(response, "unsupported_grant_type")


def test_code_challenge_methods_follow_the_pkce_policy(client, settings):
    # RFC 8414 §2, RFC 7636 §4.2: S256 only unless plain is allowed.
    assert metadata(client)["code_challenge_methods_supported"] == ["S256"]

    settings.OAUTHKIT = {**settings.OAUTHKIT, "ALLOW_PLAIN_PKCE": True}

    assert metadata(client)["code_challenge_methods_supported"] == ["S256", "plain"]


def test_fixed_members(client):
    body = metadata(client)

    # RFC 9207 §3: mix-up defence advertised.
    assert body["authorization_response_iss_parameter_supported"] is True
    assert body["response_types_supported"] == ["code"]
    assert "none" in body["token_endpoint_auth_methods_supported"]
    assert "client_secret_basic" in body["token_endpoint_auth_methods_supported"]
    assert "none" not in body["introspection_endpoint_auth_methods_supported"]


def test_scopes_supported_follows_the_setting(client, settings):
    assert "read" in metadata(client)["scopes_supported"]

    settings.OAUTHKIT = {**settings.OAUTHKIT, "SCOPES": {"orders": "Your orders", "openid": "Id"}}

    assert metadata(client)["scopes_supported"] == ["orders", "openid"]


@pytest.mark.parametrize("url", [METADATA_URL, "/o/jwks/"])
def test_public_documents_allow_cors_and_caching(client, url):
    response = client.get(url, HTTP_ORIGIN="https://spa.example.com")
    preflight = client.options(
        url, HTTP_ORIGIN="https://spa.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )

    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"].startswith("public")
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "GET" in preflight["Access-Control-Allow-Methods"]


def test_jwks_lists_public_keys_only(client):
    response = client.get("/o/jwks/")

    assert response.status_code == 200
    keys = response.json()["keys"]
    assert keys
    for key in keys:
        assert key["kid"] and key["alg"] in jose.SUPPORTED_ALGORITHMS
        assert key["use"] == "sig"
        # RFC 7518 §6.3.2 / §6.2.2: no private members.
        assert not {"d", "p", "q", "dp", "dq", "qi", "oth"} & set(key)


def test_jwks_kid_matches_the_header_of_an_issued_access_token(client, oauth_client):
    token = post_form(
        client, "/o/token/", {"grant_type": "client_credentials"}, **basic_auth(oauth_client)
    ).json()["access_token"]
    keys = client.get("/o/jwks/").json()["keys"]

    header = jose.unverified_header(token)

    by_kid = {k["kid"]: k for k in keys}
    assert header["kid"] in by_kid
    assert header["alg"] == by_kid[header["kid"]]["alg"]
    # The published key verifies the token.
    published = jose.parse_key(by_kid[header["kid"]])
    _, claims = jose.verify(token, {header["kid"]: published}, algs=jose.SUPPORTED_ALGORITHMS)
    assert claims["client_id"] == oauth_client.client_id
