"""Redirect URI matching and registration (RFC 6749 §3.1.2, RFC 8252 §7.1, §7.3, §8.3;
security checklist 1, 2 and 13)."""

import pytest
from django.core.exceptions import ValidationError

from oauthkit.provider.models import AuthorizationCode
from oauthkit.testing.factories import ClientFactory
from tests.helpers import (
    REDIRECT_URI,
    assert_error_page,
    assert_oauth_error,
    authorize_params,
    pkce_pair,
    query_of,
    token_request,
)

pytestmark = pytest.mark.django_db

AUTHORIZE = "/o/authorize/"


def authorize(http, oauth_client, redirect_uri: str, challenge: str):
    """An authorization request naming ``redirect_uri``."""
    params = authorize_params(oauth_client, challenge, redirect_uri=redirect_uri)
    return http.get(AUTHORIZE, params)


@pytest.fixture
def first_party(db):
    """A client whose consent is skipped, so an accepted URI redirects straight away."""
    return ClientFactory(skip_consent=True)


def assert_redirected_with_code(response, redirect_uri: str) -> str:
    assert response.status_code == 302, (response.status_code, response.content)
    assert response["Location"].startswith(redirect_uri + "?"), response["Location"]
    return query_of(response["Location"])["code"]


def test_exact_registered_uri_is_accepted(client, user, first_party):
    client.force_login(user)
    _, challenge = pkce_pair()
    assert_redirected_with_code(
        authorize(client, first_party, REDIRECT_URI, challenge), REDIRECT_URI
    )


# Checklist 1 and 2: exact string comparison; anything else is an open-redirector attempt.
@pytest.mark.parametrize(
    "attack",
    [
        "https://client.example.com/callback/../evil",
        "https://client.example.com/callback/..%2Fevil",
        "https://client.example.com/callbackx",
        "https://client.example.com/callback/extra",
        "https://client.example.com/callback/",
        "https://client.example.com/Callback",
        "https://client.example.com/%63allback",
        "https://client.example.com/callback?x=1",
        "https://client.example.com/callback?",
        "https://client.example.com/callback#frag",
        "https://client.example.com:8443/callback",
        "https://client.example.com:443/callback",
        "http://client.example.com/callback",
        "HTTPS://client.example.com/callback",
        "https://CLIENT.example.com/callback",
        "https://client.example.com.@evil.com/callback",
        "https://client.example.com@evil.com/callback",
        "https://evil.com@client.example.com/callback",
        "https://client.example.com.evil.com/callback",
        "https://evil.com/callback",
        "//evil.com/callback",
        "/callback",
        " https://client.example.com/callback",
    ],
)
def test_anything_but_the_exact_uri_shows_the_error_page(client, user, first_party, attack):
    client.force_login(user)
    _, challenge = pkce_pair()
    assert_error_page(authorize(client, first_party, attack, challenge))
    assert not AuthorizationCode.objects.exists()


def test_each_registered_uri_is_accepted_and_the_code_is_bound_to_it(client, user):
    other = "https://client.example.com/other"
    app = ClientFactory(skip_consent=True, redirect_uris=[REDIRECT_URI, other])
    client.force_login(user)
    verifier, challenge = pkce_pair()
    code = assert_redirected_with_code(authorize(client, app, other, challenge), other)
    # RFC 6749 §4.1.3: the token request must name the same URI.
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    wrong = token_request(client, app, {**data, "redirect_uri": REDIRECT_URI})
    assert_oauth_error(wrong, "invalid_grant")
    assert token_request(client, app, {**data, "redirect_uri": other}).status_code == 200


# --- Loopback redirect URIs of native apps (RFC 8252 §7.3) ---------------------------------


@pytest.fixture
def native(db):
    return ClientFactory(public=True, skip_consent=True, redirect_uris=["http://127.0.0.1/cb"])


def test_loopback_ip_accepts_any_port_and_the_token_request_names_that_port(client, user, native):
    client.force_login(user)
    verifier, challenge = pkce_pair()
    requested = "http://127.0.0.1:51234/cb"
    code = assert_redirected_with_code(authorize(client, native, requested, challenge), requested)
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    # The code is bound to the URI with its port (RFC 6749 §4.1.3).
    without_port = token_request(client, native, {**data, "redirect_uri": "http://127.0.0.1/cb"})
    assert_oauth_error(without_port, "invalid_grant")
    assert token_request(client, native, {**data, "redirect_uri": requested}).status_code == 200


@pytest.mark.parametrize("requested", ["http://127.0.0.1/cb", "http://127.0.0.1:80/cb"])
def test_loopback_ip_without_or_with_the_default_port_is_accepted(client, user, native, requested):
    client.force_login(user)
    _, challenge = pkce_pair()
    assert_redirected_with_code(authorize(client, native, requested, challenge), requested)


def test_loopback_ip_registered_with_a_port_accepts_another(client, user):
    app = ClientFactory(public=True, skip_consent=True, redirect_uris=["http://127.0.0.1:8080/"])
    client.force_login(user)
    _, challenge = pkce_pair()
    for requested in ("http://127.0.0.1:51234/", "http://127.0.0.1/"):
        assert_redirected_with_code(authorize(client, app, requested, challenge), requested)
    assert_error_page(authorize(client, app, "http://127.0.0.1:51234", challenge))


@pytest.mark.parametrize(
    "attack",
    [
        "http://127.0.0.1:51234/other",
        "http://127.0.0.1:51234/cb/",
        "http://127.0.0.1:51234/cb?x=1",
        "http://127.0.0.1:51234/cb#frag",
        "https://127.0.0.1:51234/cb",
        "http://127.0.0.2:51234/cb",
        "http://[::1]:51234/cb",
        "http://localhost:51234/cb",
        "http://user@127.0.0.1:51234/cb",
        "http://127.0.0.1:51234@evil.com/cb",
        "http://127.0.0.1:51234\\@evil.com/cb",
        "http://127.0.0.1:abc/cb",
        "http://127.0.0.1:99999/cb",
        "http://127.0.0.1.evil.com:51234/cb",
        "HTTP://127.0.0.1:51234/cb",
        "http://127.0.0.1:51234/cb?",
        "http://127.0.0.1:51234/cb#",
        "http://127.0.0.1:051234/cb",
        "http://127.0.0.1:/cb",
        "http://:@127.0.0.1:51234/cb",
    ],
)
def test_loopback_ip_only_the_port_may_differ(client, user, native, attack):
    client.force_login(user)
    _, challenge = pkce_pair()
    assert_error_page(authorize(client, native, attack, challenge))


def test_ipv6_loopback_accepts_any_port_only_when_registered_with_ipv6(client, user):
    app = ClientFactory(public=True, skip_consent=True, redirect_uris=["http://[::1]/cb"])
    client.force_login(user)
    _, challenge = pkce_pair()
    requested = "http://[::1]:51234/cb"
    assert_redirected_with_code(authorize(client, app, requested, challenge), requested)
    assert_error_page(authorize(client, app, "http://127.0.0.1:51234/cb", challenge))


def test_localhost_is_matched_exactly(client, user):
    # RFC 8252 §8.3: `localhost` is not a loopback IP literal; no port flexibility.
    app = ClientFactory(public=True, skip_consent=True, redirect_uris=["http://localhost/cb"])
    client.force_login(user)
    _, challenge = pkce_pair()
    exact = "http://localhost/cb"
    assert_redirected_with_code(authorize(client, app, exact, challenge), exact)
    assert_error_page(authorize(client, app, "http://localhost:51234/cb", challenge))


def test_private_use_scheme_is_matched_exactly(client, user):
    app = ClientFactory(public=True, skip_consent=True, redirect_uris=["com.example.app:/cb"])
    client.force_login(user)
    _, challenge = pkce_pair()
    for attack in ("com.example.app:/cb/x", "com.example.app://cb", "com.example.evil:/cb"):
        assert_error_page(authorize(client, app, attack, challenge))


# --- Registration (RFC 6749 §3.1.2, RFC 8252 §7.1, checklist 13) ---------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "http://client.example.com/cb",  # plain http only for loopback
        "http://10.0.0.1/cb",
        "https://client.example.com/cb#fragment",  # RFC 6749 §3.1.2: no fragment
        "https://client.example.com/cb#",
        "myapp:/cb",  # RFC 8252 §7.1: private-use schemes are reverse domain names
        "javascript:alert(1)",
        "data:text/html,hi",
        "/relative/cb",
        "",
        "https:///cb",  # no host
        "https:cb",
    ],
)
def test_registration_refuses_unsafe_redirect_uris(uri):
    app = ClientFactory.build(redirect_uris=[REDIRECT_URI, uri])
    with pytest.raises(ValidationError) as excinfo:
        app.full_clean()
    assert "redirect_uris" in excinfo.value.message_dict


@pytest.mark.parametrize(
    "uri",
    [
        "https://client.example.com/cb",
        "https://client.example.com/cb?tenant=7",
        "http://127.0.0.1/cb",
        "http://[::1]:8080/cb",
        "http://localhost/cb",
        "com.example.app:/cb",
    ],
)
def test_registration_accepts_https_loopback_and_reverse_domain_schemes(uri):
    ClientFactory.build(redirect_uris=[uri]).full_clean()


def test_registration_refuses_redirect_uris_that_are_not_a_list():
    app = ClientFactory.build(redirect_uris="https://client.example.com/cb")
    with pytest.raises(ValidationError) as excinfo:
        app.full_clean()
    assert "redirect_uris" in excinfo.value.message_dict
