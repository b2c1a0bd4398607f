"""A client's public keys for ``private_key_jwt``: its registered JWK Set, or the one
published at its ``jwks_uri`` (OIDC Registration §2).

A JWKS URL is fetched with short timeouts and a size limit, kept in Django's default
cache for ``JWKS_CACHE_TIMEOUT``, and fetched again early when an assertion names a key
not seen yet, at most once per ``JWKS_REFETCH_INTERVAL`` per client. A failed fetch is
not retried for ``JWKS_FAILURE_BACKOFF``: whoever knows a client's ID can make the
server fetch its URL, so fetches are bounded whatever the outcome. Parsed keys are kept
per process, by the content of the document.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import requests
from django.core.cache import caches
from django.utils.translation import gettext as _
from jwcrypto import jwk

from .models import Client

logger = logging.getLogger("oauthkit.client_auth")

#: Algorithms accepted for client assertions: asymmetric only, never ``none`` or HMAC.
ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
#: Seconds a fetched JWKS is used before it is fetched again.
JWKS_CACHE_TIMEOUT = 300
#: An unknown ``kid`` fetches the JWKS again only if the copy is at least this old.
JWKS_REFETCH_INTERVAL = 30
#: Seconds after a failed fetch during which the URL is not tried again.
JWKS_FAILURE_BACKOFF = 10
#: (connect, read) timeouts in seconds, and the whole fetch's limit.
JWKS_HTTP_TIMEOUT = (2.0, 3.0)
JWKS_FETCH_DEADLINE = 5.0
#: A JWKS larger than this is refused.
JWKS_MAX_BYTES = 64 * 1024

# RFC 7518 §6.2.2, §6.3.2, RFC 8037 §2, RFC 7518 §6.4.1: members of private or secret keys.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# The members a public key is built from (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2); any
# other member is ignored, so that none reaches jwcrypto's constructor ("generate" would
# make it generate a key).
PUBLIC_MEMBERS = frozenset({"kty", "crv", "x", "y", "n", "e", "kid", "alg", "use", "key_ops"})
# RFC 7518 §3.3: RSA keys of 2048 bits or more.
MIN_RSA_BITS = 2048
_CACHE = "default"
_PARSED_LIMIT = 256
_parsed: dict[str, tuple[PublicKey, ...]] = {}


class JWKSUnavailable(Exception):
    """The client's JWKS URL could not be fetched or did not answer a JWK Set."""


@dataclass(frozen=True)
class PublicKey:
    """One verification key of a client, and the algorithms it may verify."""

    kid: str
    key: jwk.JWK
    algorithms: tuple[str, ...]


def client_keys(client: Client, *, now: float, refresh: bool = False) -> tuple[PublicKey, ...]:
    """The client's usable public keys; ``refresh`` asks for a new copy of its JWKS URL
    (granted at most once per ``JWKS_REFETCH_INTERVAL``). Raises ``JWKSUnavailable``."""
    if client.jwks is not None:
        return parse_jwks(client.jwks)
    if not client.jwks_uri:
        return ()
    return parse_jwks(_published_jwks(client, now=now, refresh=refresh))


def parse_jwks(jwks: Any) -> tuple[PublicKey, ...]:
    """The usable signature keys of a JWK Set; other keys are skipped."""
    digest = hashlib.sha256(json.dumps(jwks, sort_keys=True).encode()).hexdigest()
    keys = _parsed.get(digest)
    if keys is None:
        items = jwks.get("keys") if isinstance(jwks, dict) else None
        keys = tuple(_public_keys(items if isinstance(items, list) else []))
        if len(_parsed) >= _PARSED_LIMIT:
            _parsed.clear()
        _parsed[digest] = keys
    return keys


def jwks_errors(jwks: Any) -> list[str]:
    """What is wrong with a JWK Set registered for a client (RFC 7517 §5)."""
    items = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(items, list):
        return [_('Enter a JWK Set: a JSON object with a "keys" list.')]
    errors, kids = [], set()
    for number, item in enumerate(items, start=1):
        problem = key_problem(item)
        if problem:
            errors.append(_("Key %(number)d: %(problem)s") % {"number": number, "problem": problem})
            continue
        kid = item.get("kid")
        if kid is not None and kid in kids:
            errors.append(_("Key %(number)d: its kid is not unique.") % {"number": number})
        kids.add(kid)
    if not errors and not any(_is_signature_key(item) for item in items):
        errors.append(_("The JWK Set has no public signature key."))
    return errors


def key_problem(item: Any) -> str | None:
    """Why a JWK cannot verify client assertions, or None."""
    if not isinstance(item, dict):
        return _("not a JSON object.")
    private = sorted(PRIVATE_MEMBERS & item.keys())
    if private:
        # Registering a private key would hand it to everyone who can read the client.
        return _("it contains private key material (%(members)s); register the public key.") % {
            "members": ", ".join(private)
        }
    kid = item.get("kid")
    if kid is not None and (not isinstance(kid, str) or not kid):
        return _("kid must be a non-empty string.")
    try:
        key = _build(item)
        if not _is_signature_key(item):
            return None  # an encryption key: registered, never used here
        key.get_op_key("verify")  # builds the key: a point off its curve fails here
    except Exception as exc:
        # Whatever a JWK from a client's URL makes jwcrypto raise (JWException, ValueError,
        # TypeError, NotImplementedError for an empty object ...) means "not a key".
        return _("not a valid public key (%(error)s).") % {"error": str(exc) or type(exc).__name__}
    if not _algorithms(item, key):
        return _("not an RSA (2048 bits or more), P-256 or Ed25519 key for %(algs)s.") % {
            "algs": ", ".join(ALGORITHMS)
        }
    return None


def _public_keys(items: Iterable[Any]) -> Iterable[PublicKey]:
    for item in items:
        if not _is_signature_key(item) or key_problem(item):
            continue
        key = _build(item)
        kid = item.get("kid") or key.thumbprint()
        yield PublicKey(kid=kid, key=key, algorithms=_algorithms(item, key))


def _build(item: dict) -> jwk.JWK:
    return jwk.JWK(**{name: value for name, value in item.items() if name in PUBLIC_MEMBERS})


def _is_signature_key(item: Any) -> bool:
    # RFC 7517 §4.2: a key for encryption does not verify signatures.
    return isinstance(item, dict) and item.get("use", "sig") == "sig"


def _algorithms(item: dict, key: jwk.JWK) -> tuple[str, ...]:
    kty = item.get("kty")
    if kty == "RSA" and key.get_op_key("verify").key_size >= MIN_RSA_BITS:
        fitting: tuple[str, ...] = ("RS256", "PS256")
    elif kty == "EC" and item.get("crv") == "P-256":
        fitting = ("ES256",)
    elif kty == "OKP" and item.get("crv") in ("Ed25519", "Ed448"):
        fitting = ("EdDSA",)
    else:
        return ()
    # RFC 7517 §4.4: a key that names its algorithm is used with that one only.
    declared = item.get("alg")
    return tuple(a for a in fitting if declared in (None, a))


def _published_jwks(client: Client, *, now: float, refresh: bool) -> dict:
    cache = caches[_CACHE]
    name = hashlib.sha256(f"{client.pk}|{client.jwks_uri}".encode()).hexdigest()
    key, failed_key = f"oauthkit:client-jwks:{name}", f"oauthkit:client-jwks-failed:{name}"
    entry = cache.get(key)
    if entry is not None:
        age = now - entry["fetched_at"]
        if 0 <= age < JWKS_CACHE_TIMEOUT and (not refresh or age < JWKS_REFETCH_INTERVAL):
            return entry["jwks"]
    failed_at = cache.get(failed_key)
    if failed_at is not None and 0 <= now - failed_at < JWKS_FAILURE_BACKOFF:
        raise JWKSUnavailable(f"{client.jwks_uri} failed less than a moment ago")
    try:
        jwks = fetch_jwks(client.jwks_uri)
    except JWKSUnavailable as exc:
        logger.warning("JWKS of client %s unavailable: %s", client.client_id, exc)
        cache.set(failed_key, now, timeout=JWKS_FAILURE_BACKOFF + 1)
        raise
    cache.set(key, {"fetched_at": now, "jwks": jwks}, timeout=JWKS_CACHE_TIMEOUT + 1)
    return jwks


def fetch_jwks(uri: str) -> dict:
    """GET a JWK Set, without following redirects; raises ``JWKSUnavailable``."""
    deadline = time.monotonic() + JWKS_FETCH_DEADLINE
    body = b""
    try:
        with requests.get(
            uri,
            timeout=JWKS_HTTP_TIMEOUT,
            allow_redirects=False,
            stream=True,
            headers={"Accept": "application/jwk-set+json, application/json"},
        ) as response:
            if response.status_code != 200:
                raise JWKSUnavailable(f"{uri} answered {response.status_code}")
            for chunk in response.iter_content(chunk_size=8192):
                body += chunk
                if len(body) > JWKS_MAX_BYTES:
                    raise JWKSUnavailable(f"{uri} answered more than {JWKS_MAX_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise JWKSUnavailable(f"{uri} answered too slowly")
    except requests.RequestException as exc:
        raise JWKSUnavailable(f"GET {uri} failed ({type(exc).__name__})") from exc
    try:
        jwks = json.loads(body)
    except ValueError as exc:
        raise JWKSUnavailable(f"{uri} did not answer JSON") from exc
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise JWKSUnavailable(f"{uri} did not answer a JWK Set")
    return jwks


def clear() -> None:
    """Forget the parsed keys of this process (for tests)."""
    _parsed.clear()
