"""The issuer identifier (RFC 8414 §2) used in tokens, metadata and ``iss`` responses."""

from __future__ import annotations

from django.http import HttpRequest

from ..conf import oauthkit_settings


def get_issuer(request: HttpRequest | None = None) -> str:
    """``OAUTHKIT["ISSUER"]``, or the request's origin when none is set (development only)."""
    issuer = oauthkit_settings.ISSUER
    if issuer:
        return issuer.rstrip("/")
    if request is None:
        return "http://localhost"
    return request.build_absolute_uri("/").rstrip("/")
