"""Refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2)."""

from __future__ import annotations

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from ...conf import oauthkit_settings
from .. import signals
from ..errors import InvalidGrant, InvalidRequest, InvalidScope
from ..models import RefreshToken
from ..scopes import allowed_scopes, format_scope, parse_scope
from ..tokens import TokenResponse, find_refresh_token
from .base import Grant


class RefreshTokenGrant(Grant):
    grant_type = "refresh_token"
    reuse_signal = signals.refresh_token_reused
    credential = "refresh_token"

    def handle(self) -> TokenResponse:
        token = self.load_token()
        current = self.current_scopes(token)
        scopes = self.narrowed_scopes(current)
        # RFC 8707 §2.2: the resource the grant was authorized for, if one was named (a
        # request may repeat it or leave it out, not name another); else any resource the
        # client may use, and without `resource` the default audience.
        audience = self.audience_of(token.resource, "original authorization")
        # RFC 9700 §4.14.2: a public client's refresh tokens are always rotated, since
        # rotation with reuse detection is what protects them (no sender constraint).
        rotate = oauthkit_settings.ROTATE_REFRESH_TOKENS or self.client.is_public
        if rotate:
            self.rotate(token)
        return self.issue(
            user=token.user,
            scopes=scopes,
            grant_id=token.grant_id,
            auth_time=token.auth_time,
            # RFC 6749 §6: the new refresh token keeps the scope of the old one.
            refresh_scopes=current if rotate else None,
            audience=audience,
            # OIDC Core §12.2: the same sub and auth_time; no nonce.
            claims=token.claims,
            # The same provider session: its logout reaches this grant's client too.
            sid=token.sid,
            bound_resource=token.resource,
        )

    # ``token``: the raw value in find_refresh_token, below this frame.
    @sensitive_variables("value", "token")
    def load_token(self) -> RefreshToken:
        value = self.params.get("refresh_token")
        if not value:
            raise InvalidRequest("refresh_token is required.")
        token = find_refresh_token(value)
        # RFC 6749 §6: bound to the client it was issued to.
        if token is None or token.client_id != self.client.pk:
            raise InvalidGrant("The refresh token is invalid.")
        if token.rotated_at is not None:
            self.replayed = token
            raise InvalidGrant("The refresh token has already been used.")
        if token.revoked_at is not None:
            raise InvalidGrant("The refresh token has been revoked.")
        if token.is_expired:
            raise InvalidGrant("The refresh token has expired.")
        if token.user is not None and not token.user.is_active:
            raise InvalidGrant("The user of this refresh token is inactive.")
        return token

    def current_scopes(self, token: RefreshToken) -> list[str]:
        """The token's scopes that the client may still request."""
        allowed = allowed_scopes(self.client)
        current = [s for s in token.scopes if s in allowed]
        if not current:
            raise InvalidGrant("The client may no longer request any scope of this grant.")
        return current

    def narrowed_scopes(self, current: list[str]) -> list[str]:
        requested = parse_scope(self.params.get("scope"))
        if not requested:
            return current
        # RFC 6749 §6: the scope may narrow, never widen.
        wider = [s for s in requested if s not in current]
        if wider:
            raise InvalidScope(f"Scope exceeds the original grant: {format_scope(wider)}.")
        return requested

    def rotate(self, token: RefreshToken) -> None:
        rotated = RefreshToken.objects.filter(
            pk=token.pk, rotated_at__isnull=True, revoked_at__isnull=True
        ).update(rotated_at=timezone.now())
        if not rotated:
            # Another request rotated it first: the token was presented twice.
            self.replayed = token
            raise InvalidGrant("The refresh token has already been used.")
