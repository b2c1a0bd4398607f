"""OpenID Provider Metadata at /.well-known/openid-configuration (Discovery 1.0 §3, §4)."""

from urllib.parse import urlsplit

import pytest

from oauthkit import jose
from oauthkit.provider.adapter import ProviderAdapter
from oauthkit.provider.keys import create_signing_key

pytestmark = pytest.mark.django_db

DISCOVERY_URL = "/.well-known/openid-configuration"
RFC8414_URL = "/.well-known/oauth-authorization-server"

#: Discovery 1.0 §3: REQUIRED members.
REQUIRED = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
)
#: Discovery 1.0 §3: RECOMMENDED members this provider supports.
RECOMMENDED = ("userinfo_endpoint", "scopes_supported", "claims_supported")

# tests/conftest.py clears the key ring around every test: created keys do not leak.


def discovery(http) -> dict:
    response = http.get(DISCOVERY_URL)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


def test_required_and_recommended_members(client):
    body = discovery(client)

    missing = [name for name in (*REQUIRED, *RECOMMENDED) if name not in body]
    assert not missing
    # Discovery §4.3: the issuer is exactly the one the document was fetched for.
    assert body["issuer"] == "https://testserver"
    assert "code" in body["response_types_supported"]
    assert body["subject_types_supported"] == ["public", "pairwise"]
    # Discovery §3: RS256 must be listed (the test settings sign with an RSA key).
    assert "RS256" in body["id_token_signing_alg_values_supported"]
    assert "none" not in body["id_token_signing_alg_values_supported"]
    assert "openid" in body["scopes_supported"]
    assert {"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce"} <= set(
        body["claims_supported"]
    )


def test_request_objects_are_not_claimed(client):
    # Discovery §3: request_uri_parameter_supported defaults to true; we support neither.
    body = discovery(client)
    assert body["request_parameter_supported"] is False
    assert body["request_uri_parameter_supported"] is False


def test_same_values_as_the_rfc8414_document(client):
    # One source of truth: every member both documents have is identical.
    oidc = discovery(client)
    oauth = client.get(RFC8414_URL).json()

    # The OpenID document extends the RFC 8414 one and changes none of its values.
    assert set(oauth) <= set(oidc)
    assert {name: oidc[name] for name in oauth} == oauth


def test_scopes_follow_the_settings(client, settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "SCOPES": {"openid": "Id", "orders": "Orders"}}
    assert discovery(client)["scopes_supported"] == ["openid", "orders"]


def test_every_endpoint_url_resolves(client):
    body = discovery(client)
    urls = {name: value for name, value in body.items() if name.endswith(("_endpoint", "_uri"))}
    assert {"userinfo_endpoint", "jwks_uri", "token_endpoint"} <= set(urls)

    for name, url in urls.items():
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc) == ("https", "testserver"), url
        assert not parts.query and not parts.fragment, url
        # A GET or a POST reaches a view; each may refuse the empty request, but not 404.
        assert client.get(parts.path).status_code != 404, name
        assert client.post(parts.path).status_code != 404, name


def test_userinfo_endpoint_is_the_userinfo_view(client):
    # Without a token it asks for a Bearer token (RFC 6750 §3): it is the UserInfo endpoint.
    path = urlsplit(discovery(client)["userinfo_endpoint"]).path
    response = client.get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer ")


def test_algorithms_follow_the_configured_keys(client):
    assert discovery(client)["id_token_signing_alg_values_supported"] == ["RS256"]

    create_signing_key("ES256")
    assert set(discovery(client)["id_token_signing_alg_values_supported"]) == {"RS256", "ES256"}

    create_signing_key("EdDSA")
    assert set(discovery(client)["id_token_signing_alg_values_supported"]) == {
        "RS256",
        "ES256",
        "EdDSA",
    }


def test_settings_keys_decide_the_algorithms(client, settings):
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "SIGNING_KEYS": [
            jose.generate_key("ES256").export_private(),
            jose.generate_key("PS256").export_private(),
            # A public key only verifies: nothing can be signed with it.
            jose.generate_key("EdDSA").export_public(),
        ],
    }
    algorithms = discovery(client)["id_token_signing_alg_values_supported"]
    assert set(algorithms) == {"ES256", "PS256"}


def test_every_advertised_algorithm_has_a_published_key(client):
    create_signing_key("PS256")
    body = discovery(client)
    jwks = client.get(urlsplit(body["jwks_uri"]).path).json()

    published = {key["alg"] for key in jwks["keys"]}
    assert set(body["id_token_signing_alg_values_supported"]) <= published


def test_default_claims_match_what_the_adapter_returns(client, user):
    # Discovery §3 claims_supported: what the default adapter can really supply.
    supported = set(discovery(client)["claims_supported"])
    returned = ProviderAdapter().get_claims(user, [], client=None, scopes=[])
    assert set(returned) <= supported
    assert "email_verified" not in supported


def test_document_is_public_and_cacheable_by_browsers(client):
    response = client.get(DISCOVERY_URL, HTTP_ORIGIN="https://spa.example")
    # SPAs read discovery from their own origin (Discovery §4: a GET, no authentication).
    assert response["Access-Control-Allow-Origin"] == "*"
    assert client.post(DISCOVERY_URL).status_code == 405
