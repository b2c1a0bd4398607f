"""Remote mode: the API validates against a provider over real HTTP.

The provider runs as pytest-django's live server; the API view is called in-process, and
its validator fetches the provider's metadata (RFC 8414), JWKS and introspection answers
(RFC 7662) from the live server. Live-server tests need committed data
(``transaction=True``), so they are few.
"""

import io
import socket
import time
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.core.cache import caches
from django.core.management import call_command

from oauthkit import _remote, jose
from oauthkit.provider.keys import key_ring
from oauthkit.testing.factories import ClientFactory
from tests.resource.helpers import (
    ECHO,
    WHOAMI,
    assert_invalid_token,
    bearer,
    cc_token,
    configure,
    forge,
    raw_jwt,
    revoke,
    user_token,
)

pytestmark = pytest.mark.urls("tests.resource.api")
live = pytest.mark.django_db(transaction=True)

METADATA = "/.well-known/oauth-authorization-server"
JWKS = "/o/jwks/"
INTROSPECT = "/o/introspect/"


@pytest.fixture
def provider_calls(monkeypatch) -> list[str]:
    """The paths the validator requested from the provider, in order."""
    calls: list[str] = []
    real = _remote._session.request

    def spy(method, url, **kwargs):
        calls.append(urlsplit(url).path)
        return real(method, url, **kwargs)

    monkeypatch.setattr(_remote._session, "request", spy)
    return calls


@pytest.fixture
def clock(monkeypatch):
    """Move ``_remote``'s monotonic clock forward without sleeping."""
    state = SimpleNamespace(offset=0.0)
    real_monotonic = time.monotonic
    fake = SimpleNamespace(time=time.time, monotonic=lambda: real_monotonic() + state.offset)
    monkeypatch.setattr(_remote, "time", fake)

    def advance(seconds: float) -> None:
        state.offset += seconds

    return advance


def remote_settings(settings, issuer: str, check: str = "none", **extra) -> None:
    """The provider's issuer is ``issuer``; the API validates remotely against it with the
    credentials of a confidential client that may introspect any token."""
    api = ClientFactory(name="Orders API", can_introspect=True)
    configure(
        settings,
        {
            "MODE": "remote",
            "ISSUER": issuer,
            "CLIENT_ID": api.client_id,
            "CLIENT_SECRET": api.raw_secret,
            "REVOCATION_CHECK": check,
        },
        ISSUER=issuer,
        **extra,
    )


@pytest.fixture
def app(db):
    """The client whose tokens the API receives."""
    return ClientFactory(name="Shop")


@live
def test_jwt_is_verified_with_the_providers_jwks(
    client, settings, live_server, app, provider_calls, django_assert_num_queries
):
    remote_settings(settings, live_server.url)
    token = cc_token(client, app, scope="read write")

    first = client.get(ECHO, **bearer(token))
    with django_assert_num_queries(0):  # a remote API needs no SQL for a JWT
        second = client.get(ECHO, **bearer(token))

    assert first.status_code == 200, first.content
    assert first.json()["scopes"] == ["read", "write"]
    assert first.json()["client_id"] == app.client_id
    assert second.status_code == 200
    # Metadata and keys are fetched once and cached.
    assert provider_calls == [METADATA, JWKS]


@live
def test_opaque_token_is_introspected_and_cached(
    client, settings, live_server, app, provider_calls, monkeypatch
):
    remote_settings(
        settings,
        live_server.url,
        ACCESS_TOKEN_FORMAT="opaque",
        ACCESS_TOKEN_LIFETIME=timedelta(seconds=90),
    )
    token = cc_token(client, app)
    cache = caches["default"]
    timeouts = []
    real_set = cache.set

    def spy_set(key, value, timeout=None, **kwargs):
        timeouts.append(timeout)
        return real_set(key, value, timeout=timeout, **kwargs)

    monkeypatch.setattr(cache, "set", spy_set)

    first = client.get(WHOAMI, **bearer(token))
    second = client.get(ECHO, **bearer(token))

    assert first.status_code == 200, first.content
    assert first.json()["client_id"] == app.client_id
    assert first.json()["is_authenticated"] is False
    assert second.json()["scopes"] == ["read"]
    assert provider_calls == [METADATA, INTROSPECT]
    # RFC 7662 §4: never cached past the token's expiry (90 s < the 5 min bound).
    assert len(timeouts) == 1
    assert 0 < timeouts[0] <= 90


@live
def test_remote_user_token_carries_the_subject(client, settings, live_server, app, user):
    remote_settings(settings, live_server.url, ACCESS_TOKEN_FORMAT="opaque")
    token = user_token(client, user, app)

    body = client.get(WHOAMI, **bearer(token)).json()

    # Remote mode has no user rows: request.user is a TokenUser named by the subject.
    assert body == {"user": str(user.pk), "pk": None, "is_authenticated": True, "client_id": None}


@live
def test_revoked_opaque_token_is_refused(client, settings, live_server, app, provider_calls):
    remote_settings(settings, live_server.url, ACCESS_TOKEN_FORMAT="opaque")
    used = cc_token(client, app)
    unused = cc_token(client, app)
    assert client.get(ECHO, **bearer(used)).status_code == 200

    revoke(client, app, used)
    revoke(client, app, unused)

    # Not cached: the provider is asked and says inactive.
    assert_invalid_token(client.get(ECHO, **bearer(unused)))
    # Cached: accepted until the answer expires (INTROSPECTION_CACHE_TIMEOUT is the bound).
    assert client.get(ECHO, **bearer(used)).status_code == 200
    caches["default"].clear()
    assert_invalid_token(client.get(ECHO, **bearer(used)))
    assert provider_calls.count(INTROSPECT) == 3


@live
def test_revoked_jwt_is_refused_with_the_introspection_check(client, settings, live_server, app):
    remote_settings(settings, live_server.url, check="introspection")
    token = cc_token(client, app)
    revoked = cc_token(client, app)
    revoke(client, app, revoked)

    assert client.get(ECHO, **bearer(token)).status_code == 200
    assert_invalid_token(client.get(ECHO, **bearer(revoked)))


@live
def test_key_rotation(client, settings, live_server, app, provider_calls, clock):
    remote_settings(settings, live_server.url)
    old = cc_token(client, app)
    assert client.get(ECHO, **bearer(old)).status_code == 200

    call_command("rotatekeys", stdout=io.StringIO())
    key_ring.clear()
    new = cc_token(client, app)
    assert jose.unverified_header(new)["kid"] != jose.unverified_header(old)["kid"]

    # The JWKS was fetched less than JWKS_REFRESH_INTERVAL (30 s) ago: no refetch yet.
    assert_invalid_token(client.get(ECHO, **bearer(new)))
    clock(31)
    # The unknown kid now triggers one refetch, which finds the new key.
    assert client.get(ECHO, **bearer(new)).status_code == 200
    # The retired key stays published while its tokens live.
    assert client.get(ECHO, **bearer(old)).status_code == 200
    assert provider_calls == [METADATA, JWKS, JWKS]


@live
def test_jwks_refetch_is_rate_limited(client, settings, live_server, app, provider_calls, clock):
    remote_settings(settings, live_server.url)
    assert client.get(ECHO, **bearer(cc_token(client, app))).status_code == 200
    stranger = jose.generate_key("RS256")
    claims = {"iss": live_server.url, "aud": live_server.url, "exp": int(time.time()) + 60}
    clock(31)

    # Tokens naming unknown kids cannot make the API hammer the provider.
    for _ in range(3):
        assert_invalid_token(client.get(ECHO, **bearer(forge(claims, key=stranger))))
    assert_invalid_token(client.get(ECHO, **bearer(forge(claims, key=jose.generate_key()))))

    assert provider_calls == [METADATA, JWKS, JWKS]


@live
def test_metadata_naming_another_issuer_is_503(client, settings, live_server, app, provider_calls):
    # The API asks http://127.0.0.1:port; the same server says it is http://localhost:port.
    asked = live_server.url.replace("localhost", "127.0.0.1")
    assert asked != live_server.url
    remote_settings(settings, live_server.url)
    conf = settings.OAUTHKIT["RESOURCE_SERVER"]
    configure(settings, {**conf, "ISSUER": asked}, ISSUER=live_server.url)
    token = cc_token(client, app)

    response = client.get(ECHO, **bearer(token))

    # RFC 8414 §3.3: the issuer in the metadata must be the one asked for; nothing else
    # from such a document is used.
    assert response.status_code == 503
    assert provider_calls == [METADATA]


@live
def test_wrong_api_credentials_are_503(client, settings, live_server, app):
    remote_settings(settings, live_server.url, ACCESS_TOKEN_FORMAT="opaque")
    conf = settings.OAUTHKIT["RESOURCE_SERVER"]
    configure(settings, {**conf, "CLIENT_SECRET": "wrong"})
    token = cc_token(client, app)

    # The provider refuses the introspection request: a failure to validate, not a 401.
    assert client.get(ECHO, **bearer(token)).status_code == 503


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_unreachable_provider_is_503(client, settings, app, token_format, provider_calls):
    configure(settings, ACCESS_TOKEN_FORMAT=token_format)
    token = cc_token(client, app)
    issuer = f"http://127.0.0.1:{closed_port()}"
    configure(
        settings,
        {"MODE": "remote", "ISSUER": issuer, "CLIENT_ID": "api", "CLIENT_SECRET": "secret"},
        ACCESS_TOKEN_FORMAT=token_format,
    )

    response = client.get(ECHO, **bearer(token))

    # Never an accepted token, and not the client's fault either.
    assert response.status_code == 503
    assert "WWW-Authenticate" not in response
    assert provider_calls == [METADATA]


@live
def test_malformed_kid_is_401_every_time(client, settings, live_server, app):
    remote_settings(settings, live_server.url)
    key = key_ring.signing_key()
    claims = {"iss": live_server.url, "aud": live_server.url, "exp": int(time.time()) + 60}
    token = raw_jwt({"alg": key["alg"], "kid": ["x"], "typ": "at+jwt"}, claims, b"sig")

    # The first request fetches the keys, the second finds them cached: both refuse.
    assert_invalid_token(client.get(ECHO, **bearer(token)))
    assert_invalid_token(client.get(ECHO, **bearer(token)))
