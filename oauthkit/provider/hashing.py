"""Generating and hashing the high-entropy secrets we issue.

Client secrets, authorization codes, refresh tokens and opaque access tokens are
values we generate with 256 bits of entropy, so a fast SHA-256 is a safe way to
store them (a password hasher would only cost CPU; ARCHITECTURE principle 3).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.views.decorators.debug import sensitive_variables


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random string with ``nbytes`` bytes of entropy."""
    return secrets.token_urlsafe(nbytes)


# Django's error reports show ``value`` as stars (a few calls per request: the cost is noise).
@sensitive_variables("value")
def hash_secret(value: str) -> str:
    """The hex SHA-256 of ``value``, as stored in the database."""
    return hashlib.sha256(value.encode()).hexdigest()


@sensitive_variables("value")
def secret_matches(value: str, stored_hash: str) -> bool:
    """Constant-time comparison of ``value`` against a stored hash."""
    if not value or not stored_hash:
        return False
    return hmac.compare_digest(hash_secret(value), stored_hash)
