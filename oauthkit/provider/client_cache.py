"""A short-lived per-process cache of active clients, for the token endpoint's hot path.

Looking a client up costs one query, most of it Django building the SQL; a token
request is dominated by it. Entries live ``CLIENT_CACHE_TIMEOUT`` (5 s by default) and
are dropped when this process saves or deletes a client. Another process sees a changed
secret or a deactivated client within that time; set the timeout to zero to look every
client up.
"""

from __future__ import annotations

import time

from django.db.models.signals import post_delete, post_save

from ..conf import oauthkit_settings, settings_reloaded
from .models import Client

_entries: dict[str, tuple[float, Client | None]] = {}


def get_active_client(client_id: str) -> Client | None:
    """The active client with this ``client_id``, or None."""
    ttl = oauthkit_settings.CLIENT_CACHE_TIMEOUT.total_seconds()
    if ttl <= 0:
        return _load(client_id)
    entry = _entries.get(client_id)
    now = time.monotonic()
    if entry is not None and now - entry[0] < ttl:
        return entry[1]
    client = _load(client_id)
    if client is not None:  # unknown ids are not remembered: they cannot fill memory
        _entries[client_id] = (now, client)
    return client


def _load(client_id: str) -> Client | None:
    return Client.objects.filter(client_id=client_id, is_active=True).first()


def clear(**kwargs) -> None:
    _entries.clear()


settings_reloaded.connect(clear)
post_save.connect(clear, sender=Client, dispatch_uid="oauthkit-client-cache-save")
post_delete.connect(clear, sender=Client, dispatch_uid="oauthkit-client-cache-delete")
