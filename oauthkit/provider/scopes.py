"""Scopes: parsing the ``scope`` parameter and deciding what a client may get."""

from __future__ import annotations

import re

from ..conf import oauthkit_settings
from .errors import InvalidScope

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")


def parse_scope(value: str | None) -> list[str]:
    """The scope tokens of a ``scope`` parameter, in order, without duplicates."""
    if value is None:
        return []
    tokens = value.split(" ")
    if any(not _SCOPE_TOKEN.match(t) for t in tokens if t) or (value and not value.strip()):
        raise InvalidScope("The scope parameter is malformed.")
    return list(dict.fromkeys(t for t in tokens if t))


def format_scope(scopes: list[str]) -> str:
    return " ".join(scopes)


def known_scopes() -> dict[str, str]:
    """Scope name -> human description, from settings."""
    return oauthkit_settings.SCOPES


def allowed_scopes(client) -> list[str]:
    """What ``client`` may request: its own list, or every configured scope."""
    return list(client.scopes) if client.scopes else list(known_scopes())


def resolve_scopes(client, requested: str | None) -> list[str]:
    """The scopes to grant for a request (RFC 6749 §3.3).

    No ``scope`` means the client's default scopes (or DEFAULT_SCOPES). Unknown scopes
    and scopes the client may not request are refused with ``invalid_scope``.
    """
    scopes = parse_scope(requested)
    if not scopes:
        scopes = list(client.default_scopes or oauthkit_settings.DEFAULT_SCOPES)
        if not scopes:
            raise InvalidScope("No scope was requested and the client has no default scope.")
    known = known_scopes()
    allowed = set(allowed_scopes(client))
    refused = [s for s in scopes if s not in known or s not in allowed]
    if refused:
        raise InvalidScope(f"Scope not allowed: {format_scope(refused)}.")
    return scopes


def describe(scopes: list[str]) -> list[tuple[str, str]]:
    """(name, description) pairs for the consent page."""
    known = known_scopes()
    return [(s, known.get(s, s)) for s in scopes]
