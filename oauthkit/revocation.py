"""The shared revocation list: ids of revoked JWT access tokens in a cache.

The provider writes an entry when it revokes a JWT access token (when
``REVOCATION_CACHE`` names a cache); APIs with ``REVOCATION_CHECK = "cache"`` read it,
so that validating a token needs no SQL. Each entry expires with its token, so the
list never outgrows the set of live revoked tokens.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime

from django.core.cache import caches

from .conf import oauthkit_settings

logger = logging.getLogger("oauthkit.revocation")

KEY_PREFIX = "oauthkit:revoked:"
#: Entries outlive their token by this margin, covering clock skew and leeway.
MARGIN_SECONDS = 120


def publish_revocations(tokens: Iterable[tuple[str, datetime]]) -> None:
    """Add (jti, expires_at) pairs to the provider's revocation cache, if one is set."""
    alias = oauthkit_settings.REVOCATION_CACHE
    if not alias:
        return
    now = time.time()
    entries = {}
    for jti, expires_at in tokens:
        ttl = int(expires_at.timestamp() - now) + MARGIN_SECONDS
        if ttl > 0:
            entries[(KEY_PREFIX + jti, ttl)] = 1
    cache = caches[alias]
    try:
        for (key, ttl), value in entries.items():
            cache.set(key, value, timeout=ttl)
    except Exception:
        # The database revocation stands; APIs checking the cache miss it until
        # `manage.py publishrevocations` runs (docs/operations.md).
        logger.exception("revocation list not written; run `manage.py publishrevocations`")


def is_revoked(jti: str) -> bool:
    """Whether ``jti`` is on the revocation list read by this API."""
    cache = caches[oauthkit_settings.RESOURCE_SERVER["CACHE"]]
    return cache.get(KEY_PREFIX + jti) is not None
