"""Talking to a remote provider for ``oauthkit.resource``: its metadata, JWKS and
introspection endpoint, each cached. Failures raise ``ProviderUnavailable``."""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from typing import Any
from urllib.parse import quote

import requests
from django.core.cache import caches
from jwcrypto import jwk

from . import jose
from .conf import oauthkit_settings, settings_reloaded

logger = logging.getLogger("oauthkit.resource")

_session = requests.Session()
_lock = threading.Lock()
_state: dict[str, Any] = {}


def _conf() -> dict[str, Any]:
    return oauthkit_settings.RESOURCE_SERVER


def _unavailable(message: str, exc: Exception | None = None):
    from .resource import ProviderUnavailable

    logger.error("provider unavailable: %s%s", message, f" ({exc})" if exc else "")
    return ProviderUnavailable(message)


def _get_json(url: str, **kwargs) -> dict[str, Any]:
    timeout = _conf()["HTTP_TIMEOUT"].total_seconds()
    method = "post" if "data" in kwargs else "get"
    try:
        response = _session.request(method, url, timeout=timeout, **kwargs)
    except requests.RequestException as exc:
        raise _unavailable(f"{method.upper()} {url} failed", exc) from exc
    if response.status_code != 200:
        raise _unavailable(f"{method.upper()} {url} answered {response.status_code}")
    try:
        body = response.json()
    except ValueError as exc:
        raise _unavailable(f"{url} did not answer JSON", exc) from exc
    if not isinstance(body, dict):
        raise _unavailable(f"{url} did not answer a JSON object")
    return body


def metadata() -> dict[str, Any]:
    """The provider's RFC 8414 metadata, cached ``METADATA_CACHE_TIMEOUT``."""
    cached = _state.get("metadata")
    ttl = _conf()["METADATA_CACHE_TIMEOUT"].total_seconds()
    if cached and time.monotonic() - cached[0] < ttl:
        return cached[1]
    issuer = (_conf()["ISSUER"] or "").rstrip("/")
    if not issuer:
        raise _unavailable("OAUTHKIT['RESOURCE_SERVER']['ISSUER'] is not set")
    body = _get_json(f"{issuer}/.well-known/oauth-authorization-server")
    # RFC 8414 §3.3: the issuer in the document must be the one we asked.
    if body.get("issuer") != issuer:
        raise _unavailable("the provider's metadata names another issuer")
    _state["metadata"] = (time.monotonic(), body)
    return body


def jwks_keys(kid: str | None) -> dict[str, jwk.JWK]:
    """The provider's public keys by kid; refetched on an unknown kid, rate-limited."""
    cached = _state.get("jwks")
    now = time.monotonic()
    interval = _conf()["JWKS_REFRESH_INTERVAL"].total_seconds()
    max_age = _conf()["METADATA_CACHE_TIMEOUT"].total_seconds()
    fresh = cached is not None and now - cached[0] < max_age
    known = cached is not None and (kid is None or kid in cached[1])
    if fresh and (known or now - cached[0] < interval):
        return cached[1]
    with _lock:
        cached = _state.get("jwks")
        if cached is not None and time.monotonic() - cached[0] < interval:
            return cached[1]
        jwks_uri = metadata().get("jwks_uri")
        if not jwks_uri:
            raise _unavailable("the provider's metadata has no jwks_uri")
        keys = {}
        for item in _get_json(jwks_uri).get("keys", []):
            try:
                key = jose.parse_key(item)
            except jose.JOSEError:
                continue  # a key type we do not use; the others still verify
            if not key.has_private:
                keys[key["kid"]] = key
        _state["jwks"] = (time.monotonic(), keys)
        return keys


def introspect(token: str) -> dict[str, Any]:
    """RFC 7662 answer for ``token``, cached no longer than the token lives."""
    cache = caches[_conf()["CACHE"]]
    key = "oauthkit:introspect:" + hashlib.sha256(token.encode()).hexdigest()
    answer = cache.get(key)
    if answer is not None:
        return answer
    endpoint = metadata().get("introspection_endpoint")
    if not endpoint:
        raise _unavailable("the provider's metadata has no introspection_endpoint")
    conf = _conf()
    answer = _get_json(
        endpoint,
        data={"token": token},
        # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
        auth=(quote(conf["CLIENT_ID"] or "", safe=""), quote(conf["CLIENT_SECRET"] or "", safe="")),
    )
    timeout = conf["INTROSPECTION_CACHE_TIMEOUT"].total_seconds()
    if answer.get("active"):
        exp = answer.get("exp")
        # RFC 7662 §4: never cached past the token's expiry; without a usable exp, not at all
        # (from_introspection refuses such an answer; it must not be a 500 here).
        expires = exp if isinstance(exp, int | float) and math.isfinite(exp) else 0
        timeout = min(timeout, expires - time.time())
    if timeout >= 1:
        cache.set(key, answer, timeout=int(timeout))
    return answer


def clear(**kwargs) -> None:
    _state.clear()


settings_reloaded.connect(clear)
