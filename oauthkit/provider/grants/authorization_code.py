"""Authorization code grant, token request (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 8707 §2)."""

from __future__ import annotations

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .. import signals
from ..errors import InvalidGrant, InvalidRequest
from ..hashing import hash_secret
from ..models import AuthorizationCode
from ..pkce import verify_pkce
from ..tokens import TokenResponse
from .base import Grant


class AuthorizationCodeGrant(Grant):
    grant_type = "authorization_code"
    reuse_signal = signals.authorization_code_reused
    credential = "authorization_code"

    def handle(self) -> TokenResponse:
        code = self.load_code()
        self.check_redirect_uri(code)
        verify_pkce(
            self.params.get("code_verifier"), code.code_challenge, code.code_challenge_method
        )
        audience = self.audience_of(code.resource, "authorization request")
        self.consume(code)
        return self.issue_tokens(code, audience)

    @sensitive_variables("value")
    def load_code(self) -> AuthorizationCode:
        value = self.params.get("code")
        if not value:
            raise InvalidRequest("code is required.")
        code = (
            AuthorizationCode.objects.select_related("user")
            .filter(code_hash=hash_secret(value))
            .first()
        )
        # RFC 6749 §4.1.3: the code must have been issued to this client.
        if code is None or code.client_id != self.client.pk:
            raise InvalidGrant("The authorization code is invalid.")
        if code.used_at is not None:
            # RFC 6749 §4.1.2: a second use revokes the tokens of the first, checked before
            # anything else (expiry, PKCE) so that no other error can hide the replay.
            self.replayed = code
            raise InvalidGrant("The authorization code has already been used.")
        if code.is_expired:
            raise InvalidGrant("The authorization code has expired.")
        if not code.user.is_active:
            raise InvalidGrant("The user of this authorization code is inactive.")
        return code

    def check_redirect_uri(self, code: AuthorizationCode) -> None:
        # RFC 6749 §4.1.3: identical to the authorization request's, when it was sent.
        sent = self.params.get("redirect_uri")
        if code.redirect_uri_sent and sent is None:
            raise InvalidGrant("redirect_uri is required.")
        if sent is not None and sent != code.redirect_uri:
            raise InvalidGrant("redirect_uri does not match the authorization request.")

    def consume(self, code: AuthorizationCode) -> None:
        """Mark the code used with a conditional UPDATE, so two racing requests cannot both win."""
        used = AuthorizationCode.objects.filter(pk=code.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        if not used:
            # RFC 6749 §4.1.2: a second use revokes the tokens of the first (on_failure).
            self.replayed = code
            raise InvalidGrant("The authorization code has already been used.")

    def issue_tokens(self, code: AuthorizationCode, audience: str | None = None) -> TokenResponse:
        with_refresh = self.client.allows_grant_type("refresh_token")
        return self.issue(
            user=code.user,
            scopes=code.scopes,
            grant_id=code.grant_id,
            auth_time=code.auth_time,
            refresh_scopes=code.scopes if with_refresh else None,
            audience=audience,
            claims=code.claims,
            nonce=code.nonce,
            sid=code.sid,
            bound_resource=code.resource,
        )
