"""The provider's signing keys: which key signs, which keys the JWKS publishes.

Keys come from ``SIGNING_KEYS`` in settings and from ``SigningKey`` rows made by
``manage.py rotatekeys``. The newest active database key signs; without one, the
first settings key does. Retired database keys stay published until every token
they can have signed has expired. Parsed keys are cached per process: settings keys
until settings change, database keys for ``KEY_CACHE_TIMEOUT`` (or until this process
saves a key).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from jwcrypto import jwk

from .. import jose
from ..conf import oauthkit_settings, settings_reloaded

if TYPE_CHECKING:
    from .models import SigningKey

logger = logging.getLogger("oauthkit.keys")


@dataclass
class KeySet:
    """Parsed keys: ``signing`` signs; ``published`` are verified and listed in the JWKS."""

    signing: jwk.JWK | None = None
    published: dict[str, jwk.JWK] = field(default_factory=dict)
    loaded_at: float = 0.0
    #: Every key that may sign, in order of preference (``signing`` is the first).
    signers: list[jwk.JWK] = field(default_factory=list)

    def signer_for(self, algorithm: str) -> jwk.JWK | None:
        """The preferred signing key whose algorithm is ``algorithm``."""
        return next((k for k in self.signers if k["alg"] == algorithm), None)

    @property
    def signing_algorithms(self) -> list[str]:
        return list(dict.fromkeys(k["alg"] for k in self.signers))

    @cached_property
    def jwks(self) -> dict:
        """The JWKS document, built once per key set."""
        return {"keys": [jose.public_jwk(k) for k in self.published.values()]}


class KeyRing:
    """Process-wide cache of the provider's keys."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: KeySet | None = None

    def clear(self, **kwargs) -> None:
        self._keys = None

    def current(self) -> KeySet:
        keys = self._keys
        ttl = oauthkit_settings.KEY_CACHE_TIMEOUT.total_seconds()
        if keys is None or time.monotonic() - keys.loaded_at > ttl:
            with self._lock:
                keys = self._keys
                if keys is None or time.monotonic() - keys.loaded_at > ttl:
                    keys = self._keys = self._load()
        return keys

    def signing_key(self) -> jwk.JWK:
        key = self.current().signing
        if key is None:
            raise ImproperlyConfigured(
                "oauthkit has no signing key: set OAUTHKIT['SIGNING_KEYS'] or run "
                "`manage.py rotatekeys`."
            )
        return key

    def signing_key_for(self, algorithm: str) -> jwk.JWK:
        """The key that signs with ``algorithm`` (a client's ID token algorithm)."""
        key = self.current().signer_for(algorithm)
        if key is None:
            raise ImproperlyConfigured(
                f"oauthkit has no {algorithm} signing key: run `manage.py rotatekeys "
                f"--algorithm {algorithm}` or add one to OAUTHKIT['SIGNING_KEYS']."
            )
        return key

    def verification_keys(self, kid: str | None = None) -> dict[str, jwk.JWK]:
        """Published keys by kid. An unknown ``kid`` reloads the keys (at most once a
        second), so a key that another process just created is found without waiting
        for ``KEY_CACHE_TIMEOUT``."""
        keys = self.current()
        stale = time.monotonic() - keys.loaded_at > UNKNOWN_KID_RELOAD_INTERVAL
        if isinstance(kid, str) and kid not in keys.published and stale:
            with self._lock:
                if self._keys is keys:
                    self._keys = None
            keys = self.current()
        return keys.published

    def jwks(self) -> dict:
        return self.current().jwks

    def _load(self) -> KeySet:
        from .models import SigningKey

        keyset = KeySet(loaded_at=time.monotonic())
        rows = list(SigningKey.objects.filter(published_filter()))
        if not rows and not configured_keys() and settings.DEBUG:
            rows = [create_signing_key(oauthkit_settings.SIGNING_ALGORITHM)]
            logger.warning("Generated a development signing key (DEBUG is on, no key set).")
        for row in rows:  # newest first
            key = jose.parse_key(row.private_jwk, row.algorithm)
            keyset.published[key["kid"]] = key
            if row.active:
                keyset.signers.append(key)
        for material in configured_keys():
            key = jose.parse_key(material)
            keyset.published.setdefault(key["kid"], key)
            # A public key only verifies (tokens signed elsewhere); it cannot sign.
            if key.has_private and key["kid"] not in {k["kid"] for k in keyset.signers}:
                keyset.signers.append(key)
        keyset.signing = keyset.signers[0] if keyset.signers else None
        return keyset


def configured_keys() -> list:
    """``SIGNING_KEYS`` as a list, also when a single key string was given."""
    keys = oauthkit_settings.SIGNING_KEYS
    return [keys] if isinstance(keys, str | dict) else list(keys or [])


def published_filter() -> Q:
    """Active keys, and retired keys whose signed tokens may still be valid."""
    # Only access and ID tokens are signed; refresh tokens are opaque.
    longest = max(oauthkit_settings.ACCESS_TOKEN_LIFETIME, oauthkit_settings.ID_TOKEN_LIFETIME)
    signed_token_lifetime = longest + RETIREMENT_MARGIN
    return Q(active=True) | Q(retired_at__gt=timezone.now() - signed_token_lifetime)


#: Seconds between reloads caused by tokens naming an unknown kid.
UNKNOWN_KID_RELOAD_INTERVAL = 1.0

#: Extra time a retired key stays published, for clock skew and in-flight tokens.
RETIREMENT_MARGIN = timedelta(minutes=5)


def create_signing_key(algorithm: str) -> SigningKey:
    """Generate a key, store it, and make it the one that signs."""
    from .models import SigningKey

    key = jose.generate_key(algorithm)
    return SigningKey.objects.create(
        kid=key["kid"], algorithm=algorithm, private_jwk=key.export_private()
    )


key_ring = KeyRing()
settings_reloaded.connect(key_ring.clear)


def _connect_model_signals() -> None:
    from .models import SigningKey

    post_save.connect(key_ring.clear, sender=SigningKey, dispatch_uid="oauthkit-keys-save")
    post_delete.connect(key_ring.clear, sender=SigningKey, dispatch_uid="oauthkit-keys-delete")
