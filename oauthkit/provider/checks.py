"""System checks for unsafe or broken configuration, with stable ids.

oauthkit.E001  ISSUER is not an https URL while DEBUG is off
oauthkit.E002  no signing key while DEBUG is off
oauthkit.E003  a dotted path in settings does not import
oauthkit.E004  a key in SIGNING_KEYS cannot be read
oauthkit.W001  DEBUG is on and no signing key is set: a development key is generated
oauthkit.W002  ALLOW_PLAIN_PKCE is on
oauthkit.W003  REQUIRE_PKCE is off
oauthkit.W004  ROTATE_REFRESH_TOKENS is off
oauthkit.W005  no RS256 signing key (OpenID Connect Discovery requires RS256)
oauthkit.W006  ALLOW_PASSWORD_GRANT is on
oauthkit.W007  ALLOW_IMPLICIT_FLOW is on
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError

from .. import jose
from ..conf import DEFAULTS, IMPORT_STRINGS, oauthkit_settings
from .keys import configured_keys


@register(Tags.security, deploy=False)
def check_issuer(app_configs=None, **kwargs):
    issuer = oauthkit_settings.ISSUER
    if settings.DEBUG:
        return []
    parts = urlsplit(issuer or "")
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        return [
            Error(
                "OAUTHKIT['ISSUER'] must be an https URL without query or fragment.",
                hint="RFC 8414 §2. Set it to the public https origin of this site.",
                id="oauthkit.E001",
            )
        ]
    return []


@register(Tags.security)
def check_signing_keys(app_configs=None, **kwargs):
    errors = []
    private_keys = 0
    for index, material in enumerate(configured_keys()):
        try:
            key = jose.parse_key(material)
        except jose.JOSEError as exc:
            errors.append(Error(f"SIGNING_KEYS[{index}] cannot be read: {exc}", id="oauthkit.E004"))
            continue
        # A public key is published for verification only; it never signs.
        private_keys += key.has_private
    has_key = _database_has_key()
    if private_keys or has_key:
        return errors
    if has_key is None and not settings.DEBUG:
        # Before migrate the check cannot know, and must not block migrate.
        return errors
    if settings.DEBUG:
        errors.append(
            Warning(
                "No signing key is configured; a development key will be generated.",
                hint="Set OAUTHKIT['SIGNING_KEYS'] or run `manage.py rotatekeys` before deploying.",
                id="oauthkit.W001",
            )
        )
    else:
        errors.append(
            Error(
                "No signing key is configured.",
                hint="Set OAUTHKIT['SIGNING_KEYS'] (PEM or JWK) or run `manage.py rotatekeys`.",
                id="oauthkit.E002",
            )
        )
    return errors


def _database_has_key() -> bool | None:
    """Whether an active key is stored; None when the table does not exist yet."""
    from .models import SigningKey

    try:
        return SigningKey.objects.filter(active=True).exists()
    except DatabaseError:
        return None


@register()
def check_import_strings(app_configs=None, **kwargs):
    errors = []
    for name in sorted(IMPORT_STRINGS):
        try:
            getattr(oauthkit_settings, name)
        except ImportError as exc:
            errors.append(
                Error(
                    f"OAUTHKIT['{name}'] does not import: {exc}",
                    hint=f"Default: {DEFAULTS[name]!r}",
                    id="oauthkit.E003",
                )
            )
    return errors


@register(Tags.security)
def check_pkce_policy(app_configs=None, **kwargs):
    warnings = []
    if oauthkit_settings.ALLOW_PLAIN_PKCE:
        warnings.append(
            Warning(
                "ALLOW_PLAIN_PKCE is on: the plain method does not protect a code seen in transit.",
                hint="RFC 7636 §4.2, RFC 9700 §2.1.1: use S256.",
                id="oauthkit.W002",
            )
        )
    if not oauthkit_settings.REQUIRE_PKCE:
        warnings.append(
            Warning(
                "REQUIRE_PKCE is off: confidential clients may skip PKCE.",
                hint="RFC 9700 §2.1.1 recommends PKCE for every client.",
                id="oauthkit.W003",
            )
        )
    if not oauthkit_settings.ROTATE_REFRESH_TOKENS:
        warnings.append(
            Warning(
                "ROTATE_REFRESH_TOKENS is off: a stolen refresh token stays usable.",
                hint="RFC 9700 §4.14.2.",
                id="oauthkit.W004",
            )
        )
    return warnings


@register(Tags.security)
def check_rs256_key(app_configs=None, **kwargs):
    """OpenID Connect Discovery §3: RS256 must be among the ID token algorithms."""
    from .models import SigningKey

    algorithms = set()
    for material in configured_keys():
        try:
            key = jose.parse_key(material)
        except jose.JOSEError:
            continue  # E004 reports it
        if key.has_private:
            algorithms.add(key["alg"])
    try:
        algorithms.update(
            SigningKey.objects.filter(active=True).values_list("algorithm", flat=True)
        )
    except DatabaseError:
        return []
    if algorithms and "RS256" not in algorithms:
        return [
            Warning(
                "No RS256 signing key: OpenID Connect clients expect RS256 ID tokens.",
                hint="Run `manage.py rotatekeys --algorithm RS256` or add an RSA key.",
                id="oauthkit.W005",
            )
        ]
    return []


@register(Tags.security)
def check_legacy_flows(app_configs=None, **kwargs):
    """RFC 9700 §2.4 and §2.1.2: the password grant and the implicit flow are legacy."""
    warnings = []
    if oauthkit_settings.ALLOW_PASSWORD_GRANT:
        warnings.append(
            Warning(
                "ALLOW_PASSWORD_GRANT is on: clients with the password grant see users' passwords.",
                hint="RFC 9700 §2.4: the password grant MUST NOT be used. Move clients to the "
                "authorization code flow (or the device flow) and turn it off.",
                id="oauthkit.W006",
            )
        )
    if oauthkit_settings.ALLOW_IMPLICIT_FLOW:
        warnings.append(
            Warning(
                "ALLOW_IMPLICIT_FLOW is on: access tokens may travel in the front channel.",
                hint="RFC 9700 §2.1.2: use the authorization code flow with PKCE instead of "
                "the implicit and hybrid token response types.",
                id="oauthkit.W007",
            )
        )
    return warnings
