"""Real access tokens for your tests: ``bearer(user, scopes=[...])``.

Each token is issued by ``oauthkit.provider.tokens.issue_access_token``, as the token
endpoint issues it, and has its database row: validation, introspection and revocation
behave as in production. For an API in the provider's project (resource server mode
``local``)::

    from oauthkit.testing import bearer

    response = client.get("/api/users/", HTTP_AUTHORIZATION=bearer(user, scopes=["read:users"]))
"""

from __future__ import annotations

import base64
import inspect
import json
import uuid
from collections.abc import Iterable
from datetime import timedelta

#: Django's test client talks to http://testserver: the issuer tests get when
#: ``OAUTHKIT["ISSUER"]`` is unset and the issuer is derived from the request.
TEST_SERVER_ISSUER = "http://testserver"
FORMATS = ("jwt", "opaque")


def issue_token(
    user=None,
    *,
    client=None,
    scopes: Iterable[str] | str = ("read",),
    audience: str | None = None,
    expires_in: int = 3600,
    format: str | None = None,
    issuer: str | None = None,
) -> str:
    """Issue an access token and return the raw token string (no ``Bearer`` prefix).

    ``user`` None gives a client-credentials token (no user). ``client`` defaults to a new
    confidential client. ``scopes`` are granted as given (a list, or a space-separated
    string), whether or not ``OAUTHKIT["SCOPES"]`` knows them. ``audience`` defaults to
    the provider's (``ACCESS_TOKEN_AUDIENCE``, else the issuer). ``expires_in`` may be
    negative for an expired token. ``format`` is ``"jwt"`` or ``"opaque"``; None follows
    the client and ``ACCESS_TOKEN_FORMAT``. ``issuer`` defaults to ``OAUTHKIT["ISSUER"]``,
    else ``http://testserver`` (the test client's host).
    """
    from ..conf import oauthkit_settings
    from ..provider import tokens

    if format not in (None, *FORMATS):
        raise ValueError(f"format must be one of {FORMATS} or None, not {format!r}")
    if client is None:
        from .factories import ClientFactory

        client = ClientFactory()
    issuer = (issuer or oauthkit_settings.ISSUER or TEST_SERVER_ISSUER).rstrip("/")
    accepted = inspect.signature(tokens.issue_access_token).parameters
    extra = {"audience": audience} if audience is not None and "audience" in accepted else {}
    saved_format = client.access_token_format
    if format is not None:
        # Read by issue_access_token; restored below, never saved.
        client.access_token_format = format
    try:
        raw, row = tokens.issue_access_token(
            client=client,
            user=user,
            scopes=scopes.split() if isinstance(scopes, str) else list(scopes),
            grant_id=uuid.uuid4(),
            issuer=issuer,
            **extra,
        )
    finally:
        client.access_token_format = saved_format
    return _adjust(raw, row, issuer=issuer, audience=audience, expires_in=expires_in)


def _adjust(raw: str, row, *, issuer: str, audience: str | None, expires_in: int) -> str:
    """Apply the lifetime and audience the test asked for, re-signing a JWT if needed."""
    from ..provider import tokens

    expires_at = row.created + timedelta(seconds=expires_in)
    changed = []
    if row.expires_at != expires_at:
        row.expires_at = expires_at
        changed.append("expires_at")
    if audience is not None and row.audience != audience:
        row.audience = audience
        changed.append("audience")
    if not changed:
        return raw
    row.save(update_fields=changed)
    if row.token_hash:
        return raw  # opaque: the row is the token
    # The same claims as issued, with the new exp / aud, signed with the current key.
    return tokens._jwt_access_token(row, issuer=issuer, auth_time=None)


def bearer(
    user=None,
    *,
    client=None,
    scopes: Iterable[str] | str = ("read",),
    audience: str | None = None,
    expires_in: int = 3600,
    format: str | None = None,
    issuer: str | None = None,
) -> str:
    """An ``Authorization`` header value, ``"Bearer <token>"``; arguments as ``issue_token``."""
    token = issue_token(
        user,
        client=client,
        scopes=scopes,
        audience=audience,
        expires_in=expires_in,
        format=format,
        issuer=issuer,
    )
    return f"Bearer {token}"


def revoke(token: str) -> int:
    """Revoke a token from ``issue_token`` or ``bearer`` as the provider does; returns 1 or 0.

    Goes through ``AccessToken.objects.revoke()``, so the shared revocation list
    (``REVOCATION_CACHE``) is written too.
    """
    from ..provider.hashing import hash_secret
    from ..provider.models import AccessToken

    token = token.removeprefix("Bearer ").strip()
    if token.count(".") == 2:
        # Our own token: its jti is enough to find the row; no need to verify it here.
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        lookup = {"jti": claims["jti"]}
    else:
        lookup = {"token_hash": hash_secret(token)}
    return AccessToken.objects.filter(**lookup).revoke()
