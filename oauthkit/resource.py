"""Bearer-token validation for APIs: one code path for DRF, decorators and mixins.

``validate_bearer_token(raw)`` returns a ``ValidatedToken`` or raises ``InvalidToken``
(RFC 6750 §3.1 ``invalid_token``) or ``ProviderUnavailable`` (the provider could not be
asked; never an accepted token). The mode comes from ``OAUTHKIT["RESOURCE_SERVER"]``:

- local: the API runs in the provider's project. JWTs are verified in memory with the
  provider's cached keys; opaque tokens are looked up by hash.
- remote: the API is a separate service. JWTs are verified against the provider's JWKS
  (fetched from its metadata, cached); opaque tokens are introspected (RFC 7662) with the
  API's own client credentials, the answer cached no longer than the token lives.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from . import jose
from .conf import oauthkit_settings
from .provider.issuer import get_issuer
from .revocation import is_revoked

JWT_ACCESS_TOKEN_TYPE = "at+jwt"

#: token -> (kid, the key object that verified it, expected issuer, expected audience,
#: ValidatedToken): JWTs this process has validated, checked again only for time.
_validated: dict[str, tuple] = {}
_VALIDATED_MAX = 4096
#: jti -> time.monotonic() until which this process trusts "not revoked" (cache check).
_not_revoked_until: dict[str, float] = {}
_NOT_REVOKED_MAX = 10_000
_clock = time.monotonic
#: The provider's key ring (local mode), imported on first use.
_key_ring = None


class InvalidToken(Exception):
    """The token is missing its mark: bad, expired, revoked or for another audience."""

    def __init__(self, description: str = "The access token is invalid."):
        self.description = description
        super().__init__(description)


class ProviderUnavailable(Exception):
    """The provider could not be reached to validate a token (remote mode)."""


class ClientPrincipal(AnonymousUser):
    """``request.user`` for a token with no user (client credentials): no user, a client.

    Anonymous-style, so user-only checks (``IsAuthenticated``) do not pass on it;
    scope permissions look at ``request.auth``.
    """

    def __init__(self, client_id: str):
        self.client_id = client_id

    def __str__(self) -> str:
        return f"client:{self.client_id}"


class TokenUser:
    """``request.user`` in remote mode: the token's subject, with no local user row.

    Map subjects to your own users by overriding ``ProviderAdapter.get_user_for_token``.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = id = None

    def __init__(self, subject: str):
        self.username = subject

    def get_username(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.username


@dataclass
class ValidatedToken:
    """A valid access token: what ``request.auth`` is for an API."""

    claims: dict[str, Any]
    scopes: frozenset[str]
    client_id: str
    subject: str | None
    jti: str | None
    expires_at: datetime
    audience: list[str] = field(default_factory=list)
    #: The user's primary key (local tokens), when the token has a user.
    user_id: Any = None
    has_user: bool = True

    def copy(self) -> ValidatedToken:
        """An independent copy: its claims and audience can change without touching this."""
        return ValidatedToken(
            claims=dict(self.claims),
            scopes=self.scopes,
            client_id=self.client_id,
            subject=self.subject,
            jti=self.jti,
            expires_at=self.expires_at,
            audience=[*self.audience],
            user_id=self.user_id,
            has_user=self.has_user,
        )

    def has_scopes(self, required) -> bool:
        return set(required) <= self.scopes

    def user(self):
        """The token's user, loaded on first use; a ``ClientPrincipal`` if it has none."""
        if not self.has_user:
            return ClientPrincipal(self.client_id)
        return SimpleLazyObject(lambda: resolve_user(self))


def settings_() -> dict[str, Any]:
    return oauthkit_settings.RESOURCE_SERVER


def expected_issuer(request: HttpRequest | None = None) -> str:
    conf = settings_()
    if conf["MODE"] == "remote":
        return conf["ISSUER"].rstrip("/")
    return get_issuer(request)


def expected_audience(request: HttpRequest | None = None, *, issuer: str | None = None) -> str:
    conf = settings_()
    return (
        conf["AUDIENCE"]
        or oauthkit_settings.ACCESS_TOKEN_AUDIENCE
        or issuer
        or expected_issuer(request)
    )


def validate_bearer_token(token: str, request: HttpRequest | None = None) -> ValidatedToken:
    """Validate an access token for this API; see the module docstring."""
    if not token or len(token) > 8192:
        raise InvalidToken()
    remote = settings_()["MODE"] == "remote"
    if token.count(".") == 2:
        validated = validate_jwt(token, request, remote=remote)
        check_revocation(validated, token, remote=remote)
        return validated
    if remote:
        from ._remote import introspect

        return from_introspection(introspect(token), request)
    return validate_local_opaque(token, request)


def validate_jwt(token: str, request, *, remote: bool) -> ValidatedToken:
    """Signature (allowed asymmetric algs only), typ at+jwt, iss, aud, exp/nbf (RFC 9068 §4).

    A token this process has validated before is looked up in ``_validated``: when the
    key that verified it is still the same key object, and the expected issuer and
    audience are unchanged, only its time claims are checked again (then revocation, by
    the caller). Anything else validates it afresh.
    """
    issuer = expected_issuer(request)
    audience = expected_audience(request, issuer=issuer)
    leeway = int(settings_()["LEEWAY"].total_seconds())
    known = _validated.get(token)
    if known is not None:
        kid, key, known_issuer, known_audience, validated = known
        if (
            known_issuer == issuer
            and known_audience == audience
            and _current_key(_keys(kid, remote), kid) is key
        ):
            try:
                jose.check_time_claims(validated.claims, leeway=leeway)
            except jose.JOSEError as exc:
                raise InvalidToken(str(exc)) from exc
            # A copy: a view may change request.auth without changing the memo.
            return validated.copy()
    try:
        kid = jose.unverified_header(token).get("kid")
        if kid is not None and not isinstance(kid, str):
            # Checked before any key lookup: an unhashable kid would be a 500 there.
            raise jose.JOSEError("Malformed key ID.")
        keys = _keys(kid, remote)
        _, claims = jose.verify(
            token,
            keys,
            algs=jose.SUPPORTED_ALGORITHMS,
            typ=JWT_ACCESS_TOKEN_TYPE,
        )
        jose.check_time_claims(claims, leeway=leeway)
    except jose.JOSEError as exc:
        raise InvalidToken(str(exc)) from exc
    if claims.get("iss") != issuer:
        raise InvalidToken("The token was issued by another issuer.")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else list(aud or [])
    if audience not in audiences:
        raise InvalidToken("The token is meant for another audience.")
    client_id = claims.get("client_id")
    if not isinstance(client_id, str) or not isinstance(claims.get("jti"), str):
        raise InvalidToken("The token lacks client_id or jti.")
    subject = claims.get("sub")
    validated = ValidatedToken(
        claims=claims,
        scopes=frozenset(str(claims.get("scope", "")).split()),
        client_id=client_id,
        subject=subject if isinstance(subject, str) else None,
        jti=claims["jti"],
        expires_at=datetime.fromtimestamp(claims["exp"], tz=UTC),
        audience=audiences,
        # RFC 9068 §2.2: a client-credentials token's sub is the client_id.
        has_user=subject is not None and subject != client_id,
    )
    if len(_validated) >= _VALIDATED_MAX:
        _validated.clear()
    _validated[token] = (
        kid,
        _current_key(keys, kid),
        issuer,
        audience,
        validated.copy(),
    )
    return validated


def _keys(kid: str | None, remote: bool) -> dict:
    if remote:
        from ._remote import jwks_keys

        return jwks_keys(kid)
    global _key_ring
    if _key_ring is None:
        # Imported on first use: in remote mode the provider app need not be installed.
        from .provider.keys import key_ring as _key_ring
    return _key_ring.verification_keys(kid)


def _current_key(keys: dict, kid: str | None):
    # As jose.verify picks it: by kid, or the only key when the token names none.
    if kid:
        return keys.get(kid)
    return next(iter(keys.values())) if len(keys) == 1 else None


def check_revocation(validated: ValidatedToken, token: str, *, remote: bool) -> None:
    """A revoked JWT is refused within the bound the configured check gives."""
    check = settings_()["REVOCATION_CHECK"]
    if check == "none":
        return
    if check == "cache":
        _check_revocation_list(validated.jti)
        return
    if check == "introspection" or remote:
        from ._remote import introspect

        if not introspect(token).get("active"):
            raise InvalidToken("The token is not active.")
        return
    if not _database_says_active(jti=validated.jti):
        raise InvalidToken("The token has been revoked.")


def _check_revocation_list(jti: str) -> None:
    """The shared revocation list, read at most once per REVOCATION_CHECK_INTERVAL per
    token and process: a "not revoked" answer is trusted that long, a revocation never
    forgotten (the token is refused on every request)."""
    now = _clock()
    if _not_revoked_until.get(jti, 0.0) > now:
        return
    try:
        revoked = is_revoked(jti)
    except Exception as exc:
        # The shared cache is down: fail closed, as an unreachable provider does.
        raise ProviderUnavailable("The revocation list cannot be read.") from exc
    if revoked:
        raise InvalidToken("The token has been revoked.")
    interval = settings_()["REVOCATION_CHECK_INTERVAL"].total_seconds()
    if interval > 0:
        if len(_not_revoked_until) >= _NOT_REVOKED_MAX:
            _not_revoked_until.clear()
        _not_revoked_until[jti] = now + interval


def clear_process_caches() -> None:
    """Forget verified signatures and "not revoked" answers (tests; after a key leak)."""
    _validated.clear()
    _not_revoked_until.clear()


#: The revocation query's SQL per (database alias, vendor), compiled once: building and
#: compiling the ORM query costs ~10x running it, on every API request of the default check.
_active_sql: dict[tuple[str, str], tuple[str, tuple, int]] = {}
_JTI_SLOT = "\x00jti"  # stands for the jti while compiling; no real jti contains NUL


def _database_says_active(jti: str) -> bool:
    """One indexed query: the row exists, is not revoked, and its client and user are active.

    A missing row counts as revoked (cleartokens deletes revoked rows).
    """
    from django.db import connections, router

    from .provider.models import AccessToken

    alias = router.db_for_read(AccessToken)
    connection = connections[alias]
    compiled = _active_sql.get((alias, connection.vendor))
    if compiled is None:
        query = (
            AccessToken.objects.using(alias)
            .filter(jti=_JTI_SLOT, revoked_at__isnull=True, client__is_active=True)
            .filter(Q(user__isnull=True) | Q(user__is_active=True))
            .values_list("pk")[:1]
        )
        sql, params = query.query.get_compiler(using=alias).as_sql()
        compiled = (sql, tuple(params), list(params).index(_JTI_SLOT))
        _active_sql[(alias, connection.vendor)] = compiled
    sql, params, slot = compiled
    values = list(params)
    values[slot] = jti
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return cursor.fetchone() is not None


def validate_local_opaque(token: str, request) -> ValidatedToken:
    from .provider.hashing import hash_secret
    from .provider.models import AccessToken

    row = (
        AccessToken.objects.select_related("client")
        .filter(token_hash=hash_secret(token))
        .filter(Q(user__isnull=True) | Q(user__is_active=True))
        .first()
    )
    if row is None or row.revoked_at is not None or row.is_expired or not row.client.is_active:
        raise InvalidToken()
    if expected_audience(request) not in [row.audience]:
        raise InvalidToken("The token is meant for another audience.")
    # The default adapter's subject is the user's primary key.
    subject = str(row.user_id) if row.user_id is not None else None
    return ValidatedToken(
        claims={"scope": row.scope, "client_id": row.client.client_id, "jti": row.jti},
        scopes=frozenset(row.scopes),
        client_id=row.client.client_id,
        subject=subject or row.client.client_id,
        jti=row.jti,
        expires_at=row.expires_at,
        audience=[row.audience],
        user_id=row.user_id,
        has_user=row.user_id is not None,
    )


def from_introspection(answer: dict[str, Any], request) -> ValidatedToken:
    """A ValidatedToken from an RFC 7662 answer; inactive or foreign answers are refused."""
    if not answer.get("active"):
        raise InvalidToken("The token is not active.")
    exp = answer.get("exp")
    # NaN and Infinity parse as JSON numbers but are no NumericDate (RFC 7519 §2).
    if not isinstance(exp, int | float) or not math.isfinite(exp) or exp < time.time():
        raise InvalidToken("The token has expired.")
    audience = answer.get("aud")
    audiences = [audience] if isinstance(audience, str) else list(audience or [])
    # An answer without `aud` cannot show the token is meant for this API.
    if expected_audience(request) not in audiences:
        raise InvalidToken("The token is meant for another audience.")
    if answer.get("token_type", "Bearer") not in ("Bearer", "bearer", "access_token"):
        raise InvalidToken("Not an access token.")
    client_id = str(answer.get("client_id", ""))
    subject = answer.get("sub")
    return ValidatedToken(
        claims=answer,
        scopes=frozenset(str(answer.get("scope", "")).split()),
        client_id=client_id,
        subject=subject if isinstance(subject, str) else None,
        jti=answer.get("jti") if isinstance(answer.get("jti"), str) else None,
        expires_at=datetime.fromtimestamp(exp, tz=UTC),
        audience=audiences,
        has_user=subject is not None and subject != client_id,
    )


def resolve_user(validated: ValidatedToken):
    """The user a token stands for, through the adapter (local: by primary key)."""
    from .provider.adapter import get_adapter

    user = get_adapter().get_user_for_token(validated)
    return user if user is not None else AnonymousUser()
