"""Sign in with Discord (OAuth 2)."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from ..base import Profile, register
from ..oauth2 import OAuth2Provider

_AVATAR_HASH = re.compile(r"(a_)?[0-9a-f]{1,64}")


@register
class DiscordProvider(OAuth2Provider):
    """Discord. The subject is the snowflake ``id``; the email counts as verified only
    when ``/users/@me`` says ``verified: true``."""

    slug = "discord"
    name = "Discord"
    authorization_endpoint = "https://discord.com/oauth2/authorize"
    token_endpoint = "https://discord.com/api/oauth2/token"
    userinfo_endpoint = "https://discord.com/api/users/@me"
    revocation_endpoint = "https://discord.com/api/oauth2/token/revoke"
    default_scopes: ClassVar[list[str]] = ["identify", "email"]
    profile_mapping: ClassVar[dict[str, str]] = {
        "subject": "id",
        "email": "email",
        "email_verified": "verified",
        "username": "username",
        "name": "global_name",
    }

    def profile_from(self, data: dict[str, Any]) -> Profile:
        profile = super().profile_from(data)
        avatar = data.get("avatar")
        # An avatar hash (hex, "a_" for animated ones) goes into a CDN URL: accept only that.
        if isinstance(avatar, str) and _AVATAR_HASH.fullmatch(avatar):
            profile.picture = f"https://cdn.discordapp.com/avatars/{profile.subject}/{avatar}.png"
        return profile
