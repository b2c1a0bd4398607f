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
    raw, _ = tokens.issue_access_token(
        client=client,
        user=user,
        scopes=scopes.split() if isinstance(scopes, str) else list(scopes),
        grant_id=uuid.uuid4(),
        issuer=issuer,
        audience=audience,
        lifetime=timedelta(seconds=expires_in),
        token_format=format,
    )
    return raw


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
