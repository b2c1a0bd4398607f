"""``private_key_jwt`` client authentication (RFC 7523 §2.2 and §3, OpenID Connect Core §9).

The client sends ``client_assertion_type`` (``ASSERTION_TYPE``) and ``client_assertion``, a
JWT it signed with one of its registered keys (``client_jwks``). The JWT is accepted when:

- its signature verifies with an asymmetric algorithm of ``ALGORITHMS`` (or the client's
  ``token_endpoint_auth_signing_alg``), by the key its ``kid`` names;
- ``iss`` and ``sub`` are the client's ``client_id``;
- ``aud`` contains the issuer, the token endpoint URL or the URL of the endpoint called;
- ``exp`` has not passed and is at most ``MAX_LIFETIME`` seconds away, ``nbf`` and ``iat``
  are not in the future (``LEEWAY`` seconds either way);
- its ``jti`` has not been seen from this client before (``UsedClientAssertion``).

Every failure is ``invalid_client`` (RFC 7521 §4.2.1).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse

from .. import jose
from .client_jwks import ALGORITHMS, JWKSUnavailable, PublicKey, client_keys
from .errors import InvalidClient
from .issuer import get_issuer
from .models import Client, UsedClientAssertion

#: RFC 7523 §2.2: the ``client_assertion_type`` of a JWT client assertion.
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: An assertion may expire at most this many seconds from now (besides ``LEEWAY``).
MAX_LIFETIME = 300
#: Seconds of clock difference tolerated on ``exp``, ``nbf`` and ``iat``.
LEEWAY = 30
#: Keys tried for an assertion without ``kid`` (RFC 7515 §4.1.4 makes it optional).
MAX_CANDIDATE_KEYS = 10


def _now() -> float:
    """The clock; tests replace it."""
    return time.time()


def unverified_subject(assertion: str) -> str:
    """The ``sub`` of an assertion not yet verified: only to find the client to verify it
    with (RFC 7523 §3: ``sub`` is the client_id)."""
    try:
        payload = assertion.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as exc:  # binascii.Error, UnicodeDecodeError are ValueErrors
        raise InvalidClient("The client assertion is not a JWT.") from exc
    subject = claims.get("sub") if isinstance(claims, dict) else None
    # Printable only: JSON may carry NUL or lone surrogates, which a database refuses.
    if not isinstance(subject, str) or not subject or not subject.isprintable():
        raise InvalidClient("The client assertion has no usable sub.")
    return subject


def verify_client_assertion(request: HttpRequest, client: Client, assertion: str) -> None:
    """Accept ``assertion`` as the authentication of ``client``, once; else ``InvalidClient``."""
    now = _now()
    claims = verify_signature(client, assertion, now=now)
    check_claims(claims, client, accepted_audiences(request), now=now)
    consume_jti(client, claims["jti"], claims["exp"], now=now)


def verify_signature(client: Client, assertion: str, *, now: float) -> dict[str, Any]:
    """The claims of an assertion signed by one of the client's keys."""
    try:
        header = jose.unverified_header(assertion)
    except jose.JOSEError:
        raise InvalidClient("The client assertion is not a JWT.") from None
    allowed = allowed_algorithms(client)
    # Checked before any key is looked up: `none` and HMAC never reach a key (RFC 8725 §3.1).
    if header.get("alg") not in allowed:
        raise InvalidClient(f"Client assertions must be signed with {', '.join(allowed)}.")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise InvalidClient("The client assertion's kid is not a string.")
    candidates = _candidates(_keys(client, now=now), kid)
    if not candidates and kid and client.jwks_uri:
        # A key added since the JWKS was cached (rotation): one refetch, rate-limited.
        candidates = _candidates(_keys(client, now=now, refresh=True), kid)
    if not candidates:
        raise InvalidClient("The client assertion names no registered key of the client.")
    for key in candidates[:MAX_CANDIDATE_KEYS]:
        algs = tuple(a for a in allowed if a in key.algorithms)
        try:
            return jose.verify(assertion, {kid or "": key.key}, algs=algs)[1]
        except jose.JOSEError:
            continue
    raise InvalidClient("The client assertion's signature is invalid.")


def allowed_algorithms(client: Client) -> tuple[str, ...]:
    """OIDC Registration §2: a registered signing algorithm is the only one accepted."""
    registered = client.token_endpoint_auth_signing_alg
    return (registered,) if registered else ALGORITHMS


def _keys(client: Client, *, now: float, refresh: bool = False) -> tuple[PublicKey, ...]:
    try:
        return client_keys(client, now=now, refresh=refresh)
    except JWKSUnavailable:
        raise InvalidClient("The client's keys cannot be fetched now.") from None


def _candidates(keys: tuple[PublicKey, ...], kid: str | None) -> list[PublicKey]:
    return [key for key in keys if kid is None or key.kid == kid]


def check_claims(
    claims: dict[str, Any], client: Client, audiences: set[str], *, now: float
) -> None:
    """RFC 7523 §3 and OIDC Core §9, on verified claims."""
    # RFC 7523 §3 items 1 and 2: for client authentication, iss and sub are the client_id.
    if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
        raise InvalidClient("The client assertion's iss and sub must be the client_id.")
    # RFC 7523 §3 item 3: aud is a string or a list of strings naming this server.
    aud = claims.get("aud")
    values = [aud] if isinstance(aud, str) else aud
    if not isinstance(values, list) or not any(
        isinstance(v, str) and v in audiences for v in values
    ):
        raise InvalidClient("The client assertion's aud does not name this server.")
    # RFC 7523 §3 items 4 and 5: exp is required, nbf respected.
    try:
        jose.check_time_claims(claims, leeway=LEEWAY, now=now)
    except jose.JOSEError:
        raise InvalidClient("The client assertion has expired or is not valid yet.") from None
    if claims["exp"] > now + MAX_LIFETIME + LEEWAY:
        raise InvalidClient(f"A client assertion may live at most {MAX_LIFETIME} seconds from now.")
    iat = claims.get("iat")
    if iat is not None and (not jose.is_numeric_date(iat) or iat > now + LEEWAY):
        raise InvalidClient("The client assertion's iat is in the future.")
    jti = claims.get("jti")
    # RFC 7523 §3 item 7 allows replay protection; OIDC Core §9 requires the jti for it.
    if not isinstance(jti, str) or not jti:
        raise InvalidClient("The client assertion needs a jti.")


def accepted_audiences(request: HttpRequest) -> set[str]:
    """The issuer (RFC 7523 §3, and the safest value), the token endpoint URL (OIDC Core §9)
    and the URL of the endpoint called (revocation, introspection, device authorization)."""
    issuer = get_issuer(request)
    parts = urlsplit(issuer)
    origin = f"{parts.scheme}://{parts.netloc}"
    return {issuer, origin + reverse("oauthkit:token"), origin + request.path}


def consume_jti(client: Client, jti: str, exp: float, *, now: float) -> None:
    """Record the assertion's jti until it expires; a second use is ``InvalidClient``.

    One INSERT in the usual case. A jti seen before may come back only once the assertion
    that used it has expired: its record is then taken over by a conditional UPDATE, which
    one of two racing requests wins. ``cleartokens`` deletes expired records.
    """
    # surrogatepass: JSON may carry a lone surrogate, which UTF-8 cannot encode.
    jti_hash = hashlib.sha256(jti.encode("utf-8", "surrogatepass")).hexdigest()
    expires_at = _datetime(exp + LEEWAY)
    try:
        # A savepoint inside a request's transaction (ATOMIC_REQUESTS): the failed insert
        # must not break it. The unique constraint decides a race between two requests.
        with transaction.atomic():
            UsedClientAssertion.objects.create(
                client=client, jti_hash=jti_hash, expires_at=expires_at
            )
            return
    except IntegrityError:
        pass
    taken_over = UsedClientAssertion.objects.filter(
        client=client, jti_hash=jti_hash, expires_at__lt=_datetime(now)
    ).update(expires_at=expires_at)
    if not taken_over:
        raise InvalidClient("This client assertion was already used.")


def _datetime(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)
