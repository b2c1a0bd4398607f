"""Encryption at rest of provider tokens and client secrets: compact JWE (``dir`` +
A256GCM) with jwcrypto.

LOGIN["TOKEN_ENCRYPTION_KEYS"] lists keys (an oct JWK as JSON, or any string of 32+
characters, hashed into a 256-bit key). The first encrypts; every one decrypts, so a key
is rotated by putting a new one first and dropping the old one once ``manage.py``
re-encryption or natural token turnover no longer needs it. With no keys configured, one
is derived from SECRET_KEY.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from jwcrypto import jwe, jwk
from jwcrypto.common import JWException, base64url_decode, base64url_encode, json_encode

from oauthkit.conf import oauthkit_settings


class DecryptionError(Exception):
    """No configured key opens this value (rotated away, or tampered with)."""


def _key_from(material: str) -> jwk.JWK:
    material = material.strip()
    if material.startswith("{"):
        key = jwk.JWK.from_json(material)
        if key.get("kty") != "oct" or len(base64url_decode(key.get("k", ""))) != 32:
            raise ImproperlyConfigured("TOKEN_ENCRYPTION_KEYS: a JWK must be a 256-bit oct key.")
    else:
        if len(material) < 32:
            raise ImproperlyConfigured("TOKEN_ENCRYPTION_KEYS: use 32 or more characters.")
        raw = hashlib.sha256(b"oauthkit.login.crypto:" + material.encode()).digest()
        key = jwk.JWK(kty="oct", k=base64url_encode(raw))
    if not key.get("kid"):
        key.update({"kid": key.thumbprint()[:16]})
    return key


def keys() -> list[jwk.JWK]:
    """The configured keys, encrypting key first."""
    configured = oauthkit_settings.LOGIN["TOKEN_ENCRYPTION_KEYS"] or [
        "oauthkit-login-default:" + settings.SECRET_KEY
    ]
    return [_key_from(m) for m in configured]


def encrypt(plaintext: str) -> str:
    """A compact JWE of ``plaintext`` under the first key."""
    key = keys()[0]
    header = {"alg": "dir", "enc": "A256GCM", "kid": key["kid"]}
    token = jwe.JWE(plaintext.encode(), json_encode(header))
    token.add_recipient(key)
    return token.serialize(compact=True)


def decrypt(value: str) -> str:
    """The plaintext of a value made by ``encrypt`` with any configured key."""
    try:
        kid = json.loads(_b64(value.split(".", 1)[0])).get("kid")
    except (ValueError, AttributeError) as exc:
        raise DecryptionError("Not a JWE.") from exc
    candidates = keys()
    # The kid picks the key; an unknown kid still tries all (keys configured as JWKs
    # with their own kid values).
    candidates.sort(key=lambda k: k.get("kid") != kid)
    for key in candidates:
        try:
            token = jwe.JWE()
            token.deserialize(value, key)
            return token.payload.decode()
        except (JWException, ValueError):
            continue
    raise DecryptionError("No configured key decrypts this value.")


def _b64(value: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
