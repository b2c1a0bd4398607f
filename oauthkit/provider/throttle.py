"""Rate limits counted in a cache: wrong device user codes, failed passwords.

A limit is named in ``THROTTLE_RATES`` ("10/5m": ten attempts per five minutes) and
counted per key (a user id, an IP address, a username) in ``THROTTLE_CACHE``. The
window is fixed: it starts at the first counted attempt and the count expires with it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from django.core.cache import caches
from django.http import HttpRequest

from ..conf import oauthkit_settings

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smh])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"10/5m"`` -> ``(10, 300)``: attempts allowed, window in seconds."""
    match = _RATE.match(rate or "")
    if not match:
        raise ValueError(f"Invalid rate {rate!r}; expected e.g. '10/5m'.")
    count, amount, unit = match.groups()
    return int(count), int(amount or 1) * _UNIT_SECONDS[unit]


@dataclass(frozen=True)
class Throttle:
    """A named limit from ``THROTTLE_RATES``.

    ``blocked(*keys)`` tells whether any key has used up its attempts;
    ``failure(*keys)`` counts one failed attempt against each key; ``reset(key)``
    forgets a key's failures (after a success, for a username).
    """

    name: str

    @property
    def limit(self) -> tuple[int, int]:
        return parse_rate(oauthkit_settings.THROTTLE_RATES[self.name])

    def _cache_key(self, key: str) -> str:
        # Hashed: keys may hold usernames or addresses, which need not be readable in the cache.
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        return f"oauthkit:throttle:{self.name}:{digest}"

    def blocked(self, *keys: str) -> bool:
        allowed, _ = self.limit
        cache = caches[oauthkit_settings.THROTTLE_CACHE]
        counts = cache.get_many([self._cache_key(k) for k in keys if k])
        return any(count >= allowed for count in counts.values())

    def failure(self, *keys: str) -> None:
        _, window = self.limit
        cache = caches[oauthkit_settings.THROTTLE_CACHE]
        for key in keys:
            if not key:
                continue
            cache_key = self._cache_key(key)
            # add() starts the window only for the first failure; incr() keeps its expiry.
            if not cache.add(cache_key, 1, timeout=window):
                try:
                    cache.incr(cache_key)
                except ValueError:  # expired between add and incr
                    cache.add(cache_key, 1, timeout=window)

    def reset(self, *keys: str) -> None:
        cache = caches[oauthkit_settings.THROTTLE_CACHE]
        cache.delete_many([self._cache_key(k) for k in keys if k])


def client_ip(request: HttpRequest) -> str:
    """The peer address. Behind a proxy, set REMOTE_ADDR from the trusted header in a
    middleware of your own: X-Forwarded-For is not trusted here."""
    return request.META.get("REMOTE_ADDR", "")
