"""Remote mode against odd provider answers, faked at the HTTP boundary.

A provider that answers badly (errors, non-JSON, symmetric keys in its JWKS, introspection
answers without a usable exp) must never get a token accepted, nor make the API fail
with a 500.
"""

import hashlib
import hmac
import json
import time
from urllib.parse import urlsplit

import pytest
import requests

from oauthkit import _remote
from tests.resource.helpers import ECHO, assert_invalid_token, b64, bearer, configure, raw_jwt

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.resource.api")]

ISSUER = "http://127.0.0.1:9"  # never contacted: every request is answered below
METADATA = {
    "issuer": ISSUER,
    "jwks_uri": f"{ISSUER}/jwks",
    "introspection_endpoint": f"{ISSUER}/introspect",
}


@pytest.fixture
def provider(settings, monkeypatch) -> dict:
    """Answers by path: a dict is sent as JSON with 200, a (status, bytes) pair as is."""
    configure(
        settings,
        {
            "MODE": "remote",
            "ISSUER": ISSUER,
            "CLIENT_ID": "api",
            "CLIENT_SECRET": "secret",
            "REVOCATION_CHECK": "none",
        },
    )
    answers = {"/.well-known/oauth-authorization-server": METADATA}

    def request(method, url, **kwargs):
        answer = answers[urlsplit(url).path]
        status, body = answer if isinstance(answer, tuple) else (200, json.dumps(answer).encode())
        response = requests.Response()
        response.status_code = status
        response._content = body
        return response

    monkeypatch.setattr(_remote._session, "request", request)
    return answers


def introspection(**members) -> dict:
    return {
        "active": True,
        "client_id": "shop",
        "scope": "read",
        "aud": ISSUER,
        "exp": int(time.time()) + 60,
        **members,
    }


def test_good_introspection_answer_is_accepted(client, provider):
    # The baseline for the refusals below.
    provider["/introspect"] = introspection()

    response = client.get(ECHO, **bearer("opaque-token"))

    assert response.status_code == 200, response.content
    assert response.json()["client_id"] == "shop"


@pytest.mark.parametrize(
    "members",
    [
        pytest.param({"active": False}, id="inactive"),
        pytest.param({"exp": "soon"}, id="exp-not-a-number"),
        pytest.param({"exp": float("nan")}, id="exp-nan"),
        pytest.param({"exp": None}, id="no-exp"),
        pytest.param({"exp": int(time.time()) - 1}, id="expired"),
        pytest.param({"aud": "https://other.example"}, id="other-audience"),
        pytest.param({"aud": None}, id="no-audience"),  # cannot show it is meant for us
        pytest.param({"token_type": "refresh_token"}, id="refresh-token"),
    ],
)
def test_unusable_introspection_answer_is_refused(client, provider, members):
    provider["/introspect"] = introspection(**members)

    assert_invalid_token(client.get(ECHO, **bearer("opaque-token")))


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param((500, b"oops"), id="server-error"),
        pytest.param((401, b'{"error": "invalid_client"}'), id="api-not-authorized"),
        pytest.param((200, b"<html>"), id="not-json"),
        pytest.param((200, b"[]"), id="not-an-object"),
    ],
)
def test_failing_introspection_is_503(client, provider, answer):
    provider["/introspect"] = answer

    assert client.get(ECHO, **bearer("opaque-token")).status_code == 503


def test_metadata_naming_another_issuer_is_503(client, provider):
    provider["/.well-known/oauth-authorization-server"] = {**METADATA, "issuer": "https://evil"}
    provider["/introspect"] = introspection()

    # RFC 8414 §3.3: a document for another issuer is not used at all.
    assert client.get(ECHO, **bearer("opaque-token")).status_code == 503


def test_metadata_without_introspection_endpoint_is_503(client, provider):
    provider["/.well-known/oauth-authorization-server"] = {"issuer": ISSUER}

    assert client.get(ECHO, **bearer("opaque-token")).status_code == 503


def test_symmetric_key_in_the_jwks_is_never_used(client, provider):
    # Key confusion through the JWKS: an "oct" key must not verify an HS256 token.
    secret = b"s" * 32
    provider["/jwks"] = {"keys": [{"kty": "oct", "kid": "k1", "k": b64(secret), "alg": "HS256"}]}
    header = {"alg": "HS256", "kid": "k1", "typ": "at+jwt"}
    claims = {"iss": ISSUER, "aud": ISSUER, "exp": int(time.time()) + 60, "client_id": "shop"}
    unsigned = raw_jwt(header, claims).rstrip(".")
    signature = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()

    assert_invalid_token(client.get(ECHO, **bearer(f"{unsigned}.{b64(signature)}")))
