"""System checks of the login side (``manage.py check``)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from oauthkit.conf import oauthkit_settings

from .errors import LoginError


@register(Tags.security)
def check_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list:
    """E102: a configured TOKEN_ENCRYPTION_KEYS entry that is not a usable key."""
    from . import crypto

    try:
        crypto.keys()
    except (ImproperlyConfigured, ValueError) as exc:
        return [Error(str(exc), id="oauthkit.login.E102")]
    return []


@register(Tags.security, deploy=True)
def check_encryption_keys_set(app_configs: Any = None, **kwargs: Any) -> list:
    """W101 (``check --deploy``): stored tokens encrypted with a key derived from SECRET_KEY."""
    if oauthkit_settings.LOGIN["TOKEN_ENCRYPTION_KEYS"]:
        return []
    return [
        Warning(
            "Provider tokens and secrets are encrypted with a key derived from SECRET_KEY.",
            hint="Set OAUTHKIT['LOGIN']['TOKEN_ENCRYPTION_KEYS'], so that rotating "
            "SECRET_KEY does not make them unreadable.",
            id="oauthkit.login.W101",
        )
    ]


@register()
def check_providers(app_configs: Any = None, **kwargs: Any) -> list:
    """E101: a provider entry in settings that cannot be built."""
    from .providers import build_provider

    errors = []
    for slug, entry in oauthkit_settings.LOGIN["PROVIDERS"].items():
        try:
            build_provider(slug, entry)
        except (LoginError, ImportError, TypeError) as exc:
            errors.append(
                Error(
                    f"Login provider {slug!r} is misconfigured: {exc} ({getattr(exc, 'code', '')})",
                    hint="See docs/login.md and docs/login-providers.md.",
                    obj=slug,
                    id="oauthkit.login.E101",
                )
            )
    return errors
