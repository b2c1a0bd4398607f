"""Sign in with X (formerly Twitter; OAuth 2 with PKCE)."""

from __future__ import annotations

from typing import ClassVar

from ..base import register
from ..oauth2 import OAuth2Provider


@register
class XProvider(OAuth2Provider):
    """X. The API v2 answer nests the user under ``data``; X shares no email address."""

    slug = "x"
    name = "X"
    authorization_endpoint = "https://x.com/i/oauth2/authorize"
    token_endpoint = "https://api.x.com/2/oauth2/token"
    userinfo_endpoint = "https://api.x.com/2/users/me?user.fields=profile_image_url"
    revocation_endpoint = "https://api.x.com/2/oauth2/revoke"
    # users.read needs tweet.read as well (X API v2 scope rules).
    default_scopes: ClassVar[list[str]] = ["users.read", "tweet.read"]
    profile_mapping: ClassVar[dict[str, str]] = {
        "subject": "data.id",
        "username": "data.username",
        "name": "data.name",
        "picture": "data.profile_image_url",
    }
