"""Issuing and looking up tokens.

Access tokens are JWTs (RFC 9068) or opaque strings, by the client's setting or the
site's ``ACCESS_TOKEN_FORMAT``; either way a row is written so the token can be
introspected and revoked. Refresh tokens are always opaque and stored as hashes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from .. import jose
from ..conf import oauthkit_settings
from .adapter import get_adapter
from .hashing import hash_secret, new_secret
from .keys import key_ring
from .models import AccessToken, Client, RefreshToken
from .scopes import format_scope

JWT_ACCESS_TOKEN_TYPE = "at+jwt"


@dataclass
class TokenResponse:
    """What the token endpoint returns (RFC 6749 §5.1)."""

    access_token: str
    expires_in: int
    scope: list[str]
    refresh_token: str | None = None
    id_token: str | None = None
    token_type: str = "Bearer"

    def as_dict(self) -> dict:
        body = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "scope": format_scope(self.scope),
        }
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
        if self.id_token:
            body["id_token"] = self.id_token
        return body


def access_token_format(client: Client) -> str:
    return client.access_token_format or oauthkit_settings.ACCESS_TOKEN_FORMAT


def default_audience(issuer: str) -> str:
    """The ``aud`` of a token whose request named no resource."""
    return oauthkit_settings.ACCESS_TOKEN_AUDIENCE or issuer


def issue_access_token(
    *,
    client: Client,
    user,
    scopes: list[str],
    grant_id: uuid.UUID,
    issuer: str,
    auth_time: datetime | None = None,
    audience: str | None = None,
    lifetime: timedelta | None = None,
    token_format: str | None = None,
    claims: dict | None = None,
) -> tuple[str, AccessToken]:
    """Create an access token and its row; returns (token string, row).

    ``audience`` is the token's ``aud``: a resource the request named and the grant
    checked (RFC 8707 §2, ``resources.py``); None gives ``default_audience(issuer)``.
    ``lifetime`` and ``token_format`` default to the settings and the client's format.
    """
    now = timezone.now()
    expires_at = now + (
        lifetime if lifetime is not None else oauthkit_settings.ACCESS_TOKEN_LIFETIME
    )
    jti = new_secret(16)
    audience = audience or default_audience(issuer)
    row = AccessToken(
        jti=jti,
        client=client,
        user=user,
        scope=format_scope(scopes),
        grant_id=grant_id,
        audience=audience,
        claims=claims,
        created=now,
        expires_at=expires_at,
    )
    if (token_format or access_token_format(client)) == "opaque":
        raw = new_secret(32)
        row.token_hash = hash_secret(raw)
    else:
        raw = _jwt_access_token(row, issuer=issuer, auth_time=auth_time)
    row.save(force_insert=True)
    return raw, row


def _jwt_access_token(row: AccessToken, *, issuer: str, auth_time: datetime | None) -> str:
    """RFC 9068 §2.2 claims, signed with the current key, header typ ``at+jwt``."""
    adapter = get_adapter()
    claims = {
        "iss": issuer,
        "sub": adapter.get_subject(row.user) if row.user else row.client.client_id,
        "aud": row.audience,
        "exp": int(row.expires_at.timestamp()),
        "iat": int(row.created.timestamp()),
        "jti": row.jti,
        "client_id": row.client.client_id,
        "scope": row.scope,
    }
    if auth_time is not None:
        claims["auth_time"] = int(auth_time.timestamp())
    claims.update(
        adapter.extra_access_token_claims(client=row.client, user=row.user, scopes=row.scopes)
    )
    return jose.sign(claims, key_ring.signing_key(), typ=JWT_ACCESS_TOKEN_TYPE)


def issue_refresh_token(
    *,
    client: Client,
    user,
    scopes: list[str],
    grant_id: uuid.UUID,
    auth_time: datetime | None = None,
    claims: dict | None = None,
    sid: str | None = None,
    resource: str = "",
) -> tuple[str, RefreshToken]:
    """Create a refresh token and its row; returns (token string, row). ``resource``: the
    one resource the grant is bound to (RFC 8707 §2.2), or "" for none."""
    raw = new_secret(32)
    now = timezone.now()
    row = RefreshToken.objects.create(
        token_hash=hash_secret(raw),
        client=client,
        user=user,
        scope=format_scope(scopes),
        grant_id=grant_id,
        auth_time=auth_time,
        claims=claims,
        sid=sid or "",
        resource=resource,
        created=now,
        expires_at=now + oauthkit_settings.REFRESH_TOKEN_LIFETIME,
    )
    return raw, row


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def find_access_token(token: str, *, issuer: str) -> AccessToken | None:
    """The row of an access token we issued, whatever its state; None if not ours."""
    if not token:
        return None
    if looks_like_jwt(token):
        try:
            _, claims = jose.verify(
                token,
                key_ring.verification_keys(jose.unverified_header(token).get("kid")),
                algs=jose.SUPPORTED_ALGORITHMS,
                typ=JWT_ACCESS_TOKEN_TYPE,
            )
        except jose.JOSEError:
            return None
        if claims.get("iss") != issuer or not isinstance(claims.get("jti"), str):
            return None
        lookup = {"jti": claims["jti"]}
    else:
        lookup = {"token_hash": hash_secret(token)}
    return AccessToken.objects.select_related("client", "user").filter(**lookup).first()


def find_refresh_token(token: str) -> RefreshToken | None:
    if not token:
        return None
    return (
        RefreshToken.objects.select_related("client", "user")
        .filter(token_hash=hash_secret(token))
        .first()
    )
