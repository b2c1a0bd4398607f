"""Provider metadata (OpenID Discovery) and JWKS, cached.

Both live in the LOGIN["CACHE"] cache (shared between processes when it is Redis). A JWKS
is refetched when a token names a kid it lacks, at most once per JWKS_REFRESH_INTERVAL per
provider, so a stream of forged kids cannot make us hammer the provider.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from django.core.cache import caches
from jwcrypto import jwk
from jwcrypto.common import JWException

from oauthkit.conf import oauthkit_settings

from .errors import ConfigurationError, ProviderUnavailable
from .http import ProviderHTTP


def _cache():
    return caches[oauthkit_settings.LOGIN["CACHE"]]


def _key(prefix: str, url: str) -> str:
    return f"oauthkit:login:{prefix}:{hashlib.sha256(url.encode()).hexdigest()[:32]}"


def discovery_url_for(issuer: str) -> str:
    """OIDC Discovery §4: the issuer with /.well-known/openid-configuration appended."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def discover(
    issuer: str, discovery_url: str | None = None, *, http: ProviderHTTP | None = None
) -> dict[str, Any]:
    """The provider's metadata, from the cache or fetched and checked."""
    url = discovery_url or discovery_url_for(issuer)
    key = _key("discovery", url)
    cached = _cache().get(key)
    if cached is not None:
        return cached
    metadata = (http or ProviderHTTP()).get_json(url)
    if not isinstance(metadata, dict):
        raise ProviderUnavailable()
    # OIDC Discovery §4.3: the issuer in the document must be exactly the one we asked for,
    # or a provider could impersonate another one.
    if metadata.get("issuer") != issuer:
        raise ConfigurationError(code="discovery_issuer_mismatch")
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(metadata.get(name), str):
            raise ProviderUnavailable(code="discovery_incomplete")
    timeout = oauthkit_settings.LOGIN["DISCOVERY_CACHE_TIMEOUT"].total_seconds()
    _cache().set(key, metadata, timeout)
    return metadata


def _fetch_jwks(jwks_uri: str, http: ProviderHTTP | None) -> dict[str, Any]:
    body = (http or ProviderHTTP()).get_json(jwks_uri)
    if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
        raise ProviderUnavailable(code="jwks_unusable")
    entry = {"keys": body["keys"], "fetched_at": time.time()}
    timeout = oauthkit_settings.LOGIN["JWKS_CACHE_TIMEOUT"].total_seconds()
    _cache().set(_key("jwks", jwks_uri), entry, timeout)
    return entry


def _parse(entry: dict[str, Any]) -> dict[str, jwk.JWK]:
    keys = {}
    for index, data in enumerate(entry["keys"]):
        if not isinstance(data, dict) or data.get("use", "sig") != "sig":
            continue
        try:
            key = jwk.JWK(**data)
        except (JWException, ValueError, TypeError):
            continue  # one unusable key must not break the others
        if key.has_private or key.get("kty") == "oct":
            continue  # only public asymmetric keys verify ID tokens
        keys[data.get("kid") or f"#{index}"] = key
    return keys


def signing_keys(
    jwks_uri: str, kid: str | None = None, *, http: ProviderHTTP | None = None
) -> dict[str, jwk.JWK]:
    """The provider's public keys by kid; refetched (rate-limited) when ``kid`` is unknown."""
    entry = _cache().get(_key("jwks", jwks_uri))
    if entry is None:
        entry = _fetch_jwks(jwks_uri, http)
    keys = _parse(entry)
    if kid is not None and kid not in keys:
        interval = oauthkit_settings.LOGIN["JWKS_REFRESH_INTERVAL"].total_seconds()
        if time.time() - entry["fetched_at"] >= interval:
            keys = _parse(_fetch_jwks(jwks_uri, http))
    return keys


def forget(url: str) -> None:
    """Drop the cached discovery document or JWKS at ``url`` (tests, admin changes)."""
    _cache().delete_many([_key("discovery", url), _key("jwks", url)])
