"""A process remembers the JWTs it has validated (oauthkit.resource), so a token seen again
costs no parsing or signature check. These tests show that nothing else is skipped: expiry,
the key that verified it, the expected issuer and audience are checked on every request."""

from types import SimpleNamespace

import pytest

from oauthkit import jose
from oauthkit.resource import validate_bearer_token
from tests.resource.helpers import ECHO, assert_invalid_token, bearer, configure, user_token

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.resource.api")]


@pytest.fixture
def seen_token(client, user, oauth_client):
    """A user's token, already accepted once by the API (so it is in the memo)."""
    token = user_token(client, user, oauth_client)
    assert client.get(ECHO, **bearer(token)).status_code == 200
    return token


def test_a_seen_token_is_refused_once_it_expires(client, seen_token, monkeypatch):
    expires = int(client.get(ECHO, **bearer(seen_token)).json()["expires_at"])
    # Past exp and the 30 s leeway: the remembered token is refused like any other.
    monkeypatch.setattr(jose, "time", SimpleNamespace(time=lambda: expires + 31))
    challenge = assert_invalid_token(client.get(ECHO, **bearer(seen_token)))
    assert "expired" in challenge.lower()


def test_a_seen_token_is_refused_when_the_api_audience_changes(client, settings, seen_token):
    configure(settings, {"AUDIENCE": "https://billing.example"})
    challenge = assert_invalid_token(client.get(ECHO, **bearer(seen_token)))
    assert "audience" in challenge


def test_a_seen_token_is_refused_when_the_issuer_changes(client, settings, seen_token):
    configure(settings, ISSUER="https://other-issuer.example")
    challenge = assert_invalid_token(client.get(ECHO, **bearer(seen_token)))
    assert "issuer" in challenge


def test_a_seen_token_is_refused_once_its_key_is_gone(client, settings, seen_token):
    # A new signing key replaces the old one: tokens the old key signed no longer verify.
    configure(settings, SIGNING_KEYS=[jose.generate_key("RS256").export_private()])
    assert_invalid_token(client.get(ECHO, **bearer(seen_token)))


def test_each_caller_gets_its_own_copy(rf, seen_token):
    request = rf.get(ECHO)
    first = validate_bearer_token(seen_token, request)
    first.claims["scope"] = "admin:all"
    first.audience.append("https://elsewhere.example")

    second = validate_bearer_token(seen_token, request)
    assert second.claims["scope"] == "read"
    assert "https://elsewhere.example" not in second.audience
    assert second.scopes == frozenset({"read"})


def test_many_tokens_stay_valid_when_the_memo_is_full(client, user, oauth_client, monkeypatch):
    from oauthkit import resource

    monkeypatch.setattr(resource, "_VALIDATED_MAX", 2)
    tokens = [user_token(client, user, oauth_client) for _ in range(3)]
    for token in tokens + tokens:
        assert client.get(ECHO, **bearer(token)).status_code == 200
    assert len(resource._validated) <= 2


def test_a_seen_token_costs_no_second_signature_check(client, user, oauth_client, monkeypatch):
    from jwcrypto import jws

    checks = []
    real = jws.JWSCore.verify
    monkeypatch.setattr(
        jws.JWSCore, "verify", lambda self, sig: checks.append(1) or real(self, sig)
    )
    token = user_token(client, user, oauth_client)
    for _ in range(3):
        assert client.get(ECHO, **bearer(token)).status_code == 200
    assert len(checks) == 1
