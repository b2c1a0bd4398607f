"""Device authorizations (RFC 8628): user codes, creating an authorization, finding it again.

A device asks for an authorization at the device authorization endpoint and receives a
``device_code`` (a 256-bit secret it polls the token endpoint with) and a ``user_code``
(short, for a person to type on another screen). Both are stored only as SHA-256 hashes.

User codes follow RFC 8628 §6.1: eight characters from an alphabet without vowels (no
words) and without look-alikes such as 0/O and 1/I, shown as ``WDJB-MJHT`` and accepted in
any case, with or without the dash. 20⁸ codes (about 34 bits) are enough because wrong
codes are rate-limited on the verification page (``Throttle("device_user_code")``).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..conf import oauthkit_settings
from .hashing import hash_secret, new_secret
from .models import Client, DeviceAuthorization
from .scopes import format_scope

#: The grant type the token endpoint polls with (RFC 8628 §3.4).
DEVICE_CODE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"

#: RFC 8628 §6.1: consonants only, without look-alikes.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
#: Characters ignored when a person types a code (RFC 8628 §6.1: "-" and spaces).
_IGNORED = str.maketrans("", "", "- \t")

# A new user code that collides with a stored one is drawn again, at most this often.
_CODE_ATTEMPTS = 5


def generate_user_code() -> str:
    """A new normalized user code (upper case, no dash), e.g. ``WDJBMJHT``."""
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def format_user_code(code: str) -> str:
    """``WDJBMJHT`` -> ``WDJB-MJHT``, as it is shown to people."""
    half = USER_CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def normalize_user_code(value: str | None) -> str | None:
    """What a person typed as a normalized code, or None when it cannot be one.

    Case, dashes and spaces are ignored (``" wdjb-mjht "`` -> ``WDJBMJHT``).
    """
    if not value or len(value) > 64:
        return None
    code = value.translate(_IGNORED).upper()
    if len(code) != USER_CODE_LENGTH or any(c not in USER_CODE_ALPHABET for c in code):
        return None
    return code


@dataclass(frozen=True)
class IssuedDeviceCodes:
    """A new authorization with its raw codes, which exist only in this response."""

    authorization: DeviceAuthorization
    device_code: str
    #: Formatted for people: ``WDJB-MJHT``.
    user_code: str


def create_device_authorization(
    client: Client, scopes: list[str], resource: str | None = None
) -> IssuedDeviceCodes:
    """Store a pending authorization for ``client`` (RFC 8628 §3.2); return its raw codes."""
    device_code = new_secret(32)
    now = timezone.now()
    for attempt in range(_CODE_ATTEMPTS):
        user_code = generate_user_code()
        try:
            # A savepoint, so that a colliding user code leaves the outer transaction usable.
            with transaction.atomic():
                record = DeviceAuthorization.objects.create(
                    client=client,
                    device_code_hash=hash_secret(device_code),
                    user_code_hash=hash_secret(user_code),
                    requested_scope=format_scope(scopes),
                    resource=resource or "",
                    grant_id=uuid.uuid4(),
                    interval=oauthkit_settings.DEVICE_POLL_INTERVAL,
                    created=now,
                    expires_at=now + oauthkit_settings.DEVICE_CODE_LIFETIME,
                )
        except IntegrityError:
            if attempt == _CODE_ATTEMPTS - 1:
                raise
            continue
        return IssuedDeviceCodes(record, device_code, format_user_code(user_code))
    raise AssertionError("unreachable")  # pragma: no cover


def find_by_user_code(code: str) -> DeviceAuthorization | None:
    """The authorization of a normalized user code, whatever its state, with its client."""
    return (
        DeviceAuthorization.objects.select_related("client")
        .filter(user_code_hash=hash_secret(code))
        .first()
    )


def is_pending(authorization: DeviceAuthorization) -> bool:
    """Still waiting for the user: undecided, unexpired, and its client active."""
    return (
        authorization.status == DeviceAuthorization.Status.PENDING
        and not authorization.is_expired
        and authorization.client.is_active
    )


def decide(
    authorization: DeviceAuthorization,
    *,
    allow: bool,
    user,
    auth_time=None,
    sid: str | None = None,
    scopes: list[str] | None = None,
) -> bool:
    """Record the user's decision, once; False when it was decided (or expired) meanwhile.

    A conditional UPDATE, so that two tabs answering at once cannot both decide.
    On approval ``scopes`` are granted (a subset of the requested ones: partial consent);
    None grants every requested scope.
    """
    now = timezone.now()
    values = {"status": DeviceAuthorization.Status.DENIED, "decided_at": now, "user": user}
    if allow:
        requested = authorization.requested_scope.split()
        granted = requested if scopes is None else [s for s in requested if s in set(scopes)]
        values.update(
            status=DeviceAuthorization.Status.APPROVED,
            scope=format_scope(granted),
            auth_time=auth_time,
            sid=sid or "",
        )
    updated = DeviceAuthorization.objects.filter(
        pk=authorization.pk,
        status=DeviceAuthorization.Status.PENDING,
        expires_at__gt=now,
    ).update(**values)
    return updated == 1
