"""Sign in with Apple (OpenID Connect with a computed client secret)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, ClassVar

from oauthkit import jose

from ...errors import ConfigurationError
from ..base import Profile, Provider, register

if TYPE_CHECKING:
    from django.http import HttpRequest

    from ..base import PendingLike


AUDIENCE = "https://appleid.apple.com"
#: Apple refuses a client secret that lives longer than six months (15777000 s).
MAX_SECRET_LIFETIME = 15_777_000


@register
class AppleProvider(Provider):
    """Apple. ``client_id`` is the Services ID; settings ``team_id``, ``key_id`` and
    ``private_key`` (the .p8 PEM) make the client secret, an ES256 JWT signed per token
    request (``client_secret_lifetime`` seconds, default 300).

    ``email_verified`` comes from the ID token (Apple sends it as "true"). The name is
    never in the ID token: Apple posts it once, in the first callback's ``user`` field,
    which :meth:`complete_profile` reads.
    """

    slug = "apple"
    name = "Apple"
    issuer = AUDIENCE
    authorization_endpoint = "https://appleid.apple.com/auth/authorize"
    token_endpoint = "https://appleid.apple.com/auth/token"
    jwks_uri = "https://appleid.apple.com/auth/keys"
    revocation_endpoint = "https://appleid.apple.com/auth/revoke"
    default_scopes: ClassVar[list[str]] = ["name", "email"]
    token_endpoint_auth_method = "client_secret_post"
    id_token_signing_algs = ("RS256",)
    fetch_userinfo = False  # Apple has no UserInfo endpoint

    def authorization_params(self, request: HttpRequest, pending: PendingLike) -> dict[str, str]:
        params = super().authorization_params(request, pending)
        # Apple requires form_post whenever name or email is asked for.
        if {"name", "email"} & set(self.scopes):
            params["response_mode"] = "form_post"
        return params

    def client_secret_for_token_request(self) -> str:
        """An ES256 JWT: iss team id, sub client id, aud Apple, kid the key id."""
        team_id, key_id, material = (self.setting(n) for n in ("team_id", "key_id", "private_key"))
        if not (team_id and key_id and material):
            raise ConfigurationError(code="apple_secret_settings_missing")
        try:
            key = jose.parse_key(material, "ES256")
        except jose.JOSEError as exc:
            raise ConfigurationError(code="apple_private_key_unreadable") from exc
        key.update({"kid": key_id})
        lifetime = min(int(self.setting("client_secret_lifetime", 300)), MAX_SECRET_LIFETIME)
        now = int(time.time())
        claims = {
            "iss": team_id,
            "sub": self.client_id,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + lifetime,
        }
        return jose.sign(claims, key)

    def complete_profile(self, profile: Profile, params: Any) -> Profile:
        """Fill the name from the callback's ``user`` JSON (first sign-in only).

        Its email is ignored: it is not signed; the ID token's is.
        """
        try:
            user = json.loads(params.get("user") or "{}")
        except (TypeError, ValueError):
            return profile
        name = user.get("name") if isinstance(user, dict) else None
        if not isinstance(name, dict):
            return profile
        given, family = (_text(name.get(k)) for k in ("firstName", "lastName"))
        profile.given_name = profile.given_name or given
        profile.family_name = profile.family_name or family
        profile.name = profile.name or " ".join(p for p in (given, family) if p) or None
        return profile


def _text(value: Any) -> str | None:
    return value.strip()[:150] or None if isinstance(value, str) else None
