"""pytest fixtures for testing APIs protected by oauthkit (a pytest plugin).

Load them in your top-level ``conftest.py``::

    pytest_plugins = ["oauthkit.testing.fixtures"]

Every name starts with ``oauthkit_`` so that it cannot clash with your own fixtures.
They need pytest-django (``db``, ``settings``).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest


@pytest.fixture
def oauthkit_client(db):
    """A confidential client (client_secret_basic); its raw secret is ``.raw_secret``."""
    from .factories import ClientFactory

    return ClientFactory()


@pytest.fixture
def oauthkit_public_client(db):
    """A public client (no secret, PKCE): a native or browser application."""
    from .factories import ClientFactory

    return ClientFactory(public=True)


@pytest.fixture
def oauthkit_bearer(db):
    """``bearer(user=None, *, scopes=..., ...)`` -> ``"Bearer <token>"``; see ``tokens.bearer``."""
    from .tokens import bearer

    return bearer


@pytest.fixture
def oauthkit_token(db):
    """``issue_token(user=None, *, scopes=..., ...)`` -> the raw access token string."""
    from .tokens import issue_token

    return issue_token


@pytest.fixture
def oauthkit_revocation_cache(settings):
    """A fresh local-memory cache as the shared revocation list, checked by the API.

    Sets ``REVOCATION_CACHE`` (provider) and ``RESOURCE_SERVER["REVOCATION_CHECK"] =
    "cache"`` (API) to it, as a site with Redis would, read on every request
    (``REVOCATION_CHECK_INTERVAL`` 0); yields the cache.
    """
    from django.core.cache import caches

    alias = "oauthkit-revocations"
    settings.CACHES = {
        **settings.CACHES,
        alias: {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"oauthkit-revocations-{uuid.uuid4()}",
        },
    }
    current = getattr(settings, "OAUTHKIT", None) or {}
    settings.OAUTHKIT = {
        **current,
        "REVOCATION_CACHE": alias,
        "RESOURCE_SERVER": {
            **current.get("RESOURCE_SERVER", {}),
            "REVOCATION_CHECK": "cache",
            "CACHE": alias,
            # Read the list on every request: a test revokes, then expects a 401 at once.
            "REVOCATION_CHECK_INTERVAL": timedelta(0),
        },
    }
    cache = caches[alias]
    yield cache
    cache.clear()
