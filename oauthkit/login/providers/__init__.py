"""Configured providers: built from settings and from the admin's ``ProviderConfiguration``.

The rule: a database row whose slug equals a settings entry replaces that entry entirely
(a disabled row hides it); everything else is the union of both sources.
"""

from __future__ import annotations

from typing import Any

from oauthkit.conf import oauthkit_settings

from ..errors import ConfigurationError
from .base import (
    OVERRIDABLE_ATTRIBUTES,
    Profile,
    Provider,
    ProviderConfig,
    provider_class,
    register,
    registered,
)

__all__ = [
    "Profile",
    "Provider",
    "ProviderConfig",
    "ProviderNotFound",
    "build_provider",
    "configured_providers",
    "get_provider",
    "provider_class",
    "register",
    "registered",
]

_KNOWN_KEYS = {"kind", "preset", "class", "client_id", "client_secret", "scopes", "settings"}


class ProviderNotFound(LookupError):
    """No enabled provider has this slug."""


def build_provider(slug: str, entry: dict[str, Any]) -> Provider:
    """A provider instance from one configuration entry (settings dict form)."""
    unknown = set(entry) - _KNOWN_KEYS - set(OVERRIDABLE_ATTRIBUTES)
    if unknown:
        raise ConfigurationError(f"Unknown keys for provider {slug!r}: {sorted(unknown)}")
    name = entry.get("class") or entry.get("preset") or entry.get("kind") or "oidc"
    cls = provider_class(name)
    config = ProviderConfig(
        slug=slug,
        client_id=entry.get("client_id") or "",
        client_secret=entry.get("client_secret") or "",
        scopes=list(entry["scopes"]) if entry.get("scopes") is not None else None,
        settings=dict(entry.get("settings") or {}),
        overrides={k: v for k, v in entry.items() if k in OVERRIDABLE_ATTRIBUTES},
    )
    return cls(config)


def _entries() -> dict[str, dict[str, Any] | None]:
    entries: dict[str, dict[str, Any] | None] = dict(oauthkit_settings.LOGIN["PROVIDERS"])
    from ..models import ProviderConfiguration

    for row in ProviderConfiguration.objects.all():
        try:
            entries[row.slug] = row.as_entry() if row.enabled else None
        except ConfigurationError:
            entries[row.slug] = None  # its secret no longer decrypts: unusable, not a 500
    return entries


def get_provider(slug: str) -> Provider:
    """The enabled provider ``slug``; ProviderNotFound otherwise."""
    entry = _entries().get(slug)
    if entry is None:
        raise ProviderNotFound(slug)
    return build_provider(slug, entry)


def configured_providers() -> list[Provider]:
    """All enabled providers, in configuration order; broken entries are left out."""
    providers = []
    for slug, entry in _entries().items():
        if entry is None:
            continue
        try:
            providers.append(build_provider(slug, entry))
        except ConfigurationError:
            continue
    return providers
