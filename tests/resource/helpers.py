"""Helpers for the resource-server tests: getting tokens through the provider's endpoints,
forging JWTs with chosen headers and claims, and asserting RFC 6750 answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from jwcrypto import jwk

from oauthkit import jose
from oauthkit.provider.keys import key_ring
from tests.helpers import (  # noqa: F401 - bearer and cc_token are used through this module
    ISSUER,
    basic_auth,
    bearer,
    cc_token,
    get_code,
    post_form,
    redeem,
)

ECHO = "/api/echo"
WHOAMI = "/api/whoami"


def user_token(http, user, oauth_client, scope: str = "read") -> str:
    """An access token for ``user`` from a real authorization-code flow."""
    http.force_login(user)
    code, verifier = get_code(http, oauth_client, scope=scope)
    response = redeem(http, oauth_client, code, verifier)
    assert response.status_code == 200, response.content
    http.logout()
    return response.json()["access_token"]


def revoke(http, oauth_client, token: str, **extra) -> None:
    response = post_form(http, "/o/revoke/", {"token": token}, **basic_auth(oauth_client), **extra)
    assert response.status_code == 200, response.content


def assert_invalid_token(response) -> str:
    """401 with RFC 6750 §3.1 invalid_token; returns the challenge."""
    assert response.status_code == 401, (response.status_code, response.content)
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="api", error="invalid_token"'), challenge
    assert "error_description=" in challenge
    return challenge


def claims_for(row, **overrides: Any) -> dict[str, Any]:
    """RFC 9068 §2.2 claims for an ``AccessToken`` row, valid for five minutes."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": str(row.user_id) if row.user_id else row.client.client_id,
        "aud": ISSUER,
        "exp": now + 300,
        "iat": now,
        "jti": row.jti,
        "client_id": row.client.client_id,
        "scope": row.scope,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def forge(claims: dict[str, Any], key: jwk.JWK | None = None, typ: str | None = "at+jwt") -> str:
    """A JWT signed properly, by the provider's signing key unless ``key`` is given."""
    return jose.sign(claims, key or key_ring.signing_key(), typ=typ)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_jwt(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)]
    )


def hs256_with_public_key(claims: dict[str, Any]) -> str:
    """The key-confusion attack: HS256 keyed with the provider's public key (PEM bytes)."""
    key = key_ring.signing_key()
    header = {"alg": "HS256", "kid": key["kid"], "typ": "at+jwt"}
    signing_input = ".".join([b64(json.dumps(header).encode()), b64(json.dumps(claims).encode())])
    secret = key.export_to_pem(private_key=False)
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def with_payload(token: str, claims: dict[str, Any]) -> str:
    """``token`` with its payload replaced and its signature kept (tampering)."""
    header, _, signature = token.split(".")
    return ".".join([header, b64(json.dumps(claims).encode()), signature])


def payload_of(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def configure(settings, resource_server: dict[str, Any] | None = None, **top: Any) -> None:
    """Change ``OAUTHKIT``: top-level keys, and ``RESOURCE_SERVER`` (merged over its defaults
    by oauthkit.conf)."""
    values = {**settings.OAUTHKIT, **top}
    if resource_server is not None:
        values["RESOURCE_SERVER"] = resource_server
    settings.OAUTHKIT = values
