"""OAuth error types that know their ``error`` code, HTTP status and response form.

Views catch ``OAuthError`` in one place and answer with ``as_response()`` (JSON for
back-channel endpoints) or a redirect / error page for the authorization endpoint.
"""

from __future__ import annotations

from django.http import JsonResponse


class OAuthError(Exception):
    """Base of every protocol error; ``error`` is the RFC code (RFC 6749 §5.2)."""

    error = "invalid_request"
    status = 400
    default_description = ""

    def __init__(self, description: str = "", *, status: int | None = None):
        self.description = description or self.default_description
        if status is not None:
            self.status = status
        super().__init__(self.description)

    def as_dict(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body

    def headers(self) -> dict[str, str]:
        return {}

    def as_response(self) -> JsonResponse:
        """JSON error response as RFC 6749 §5.2, never cached."""
        response = JsonResponse(self.as_dict(), status=self.status)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        for name, value in self.headers().items():
            response[name] = value
        return response


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    """RFC 6749 §5.2: 401 with WWW-Authenticate when the client used HTTP Basic."""

    error = "invalid_client"
    status = 401
    default_description = "Client authentication failed."

    def __init__(self, description: str = "", *, used_basic: bool = False):
        super().__init__(description)
        self.used_basic = used_basic

    def headers(self) -> dict[str, str]:
        if self.used_basic:
            return {"WWW-Authenticate": 'Basic realm="oauthkit"'}
        return {}


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"
    status = 403


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class UnsupportedTokenType(OAuthError):
    """RFC 7009 §2.2.1."""

    error = "unsupported_token_type"


class ServerError(OAuthError):
    error = "server_error"
    status = 500


class TemporarilyUnavailable(OAuthError):
    error = "temporarily_unavailable"
    status = 503


class InvalidTarget(OAuthError):
    """RFC 8707 §2."""

    error = "invalid_target"


class LoginRequired(OAuthError):
    error = "login_required"


class ConsentRequired(OAuthError):
    error = "consent_required"


class InteractionRequired(OAuthError):
    error = "interaction_required"


class AuthorizationPending(OAuthError):
    """RFC 8628 §3.5: the user has not decided yet; keep polling."""

    error = "authorization_pending"


class SlowDown(OAuthError):
    """RFC 8628 §3.5: polling too fast; the interval grew by 5 seconds."""

    error = "slow_down"


class ExpiredToken(OAuthError):
    """RFC 8628 §3.5: the device code expired; start a new device authorization."""

    error = "expired_token"


class FatalAuthorizationError(Exception):
    """The client or redirect URI cannot be trusted: show a page, never redirect.

    RFC 6749 §4.1.2.1.
    """

    def __init__(self, description: str):
        self.description = description
        super().__init__(description)
