"""DRF authentication with OAuth 2 bearer tokens (RFC 6750)."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from ..bearer import MalformedRequest, get_bearer_token, www_authenticate
from ..resource import InvalidToken, ProviderUnavailable, ValidatedToken, validate_bearer_token


class InvalidBearerToken(exceptions.AuthenticationFailed):
    """401 whose ``WWW-Authenticate`` carries the RFC 6750 error (set by the class below)."""


class InvalidBearerRequest(exceptions.ParseError):
    """400 for credentials sent in a way we refuse (RFC 6750 §3.1 ``invalid_request``).

    DRF adds ``WWW-Authenticate`` only to 401s by itself; its exception handler sends any
    exception's ``auth_header``, so the challenge travels on the exception.
    """

    def __init__(self, detail: str):
        super().__init__(detail)
        self.auth_header = www_authenticate("invalid_request", detail)


class ProviderUnavailableError(exceptions.APIException):
    status_code = 503
    default_detail = "The authorization server cannot be reached to validate the token."
    default_code = "temporarily_unavailable"


class OAuth2Authentication(BaseAuthentication):
    """Authenticate a request by its bearer token.

    A request without a bearer token is left to other authenticators (returns None);
    a request with a bad, expired, revoked or wrong-audience token gets 401 with
    ``WWW-Authenticate: Bearer error="invalid_token"``. ``request.auth`` is a
    ``ValidatedToken``; ``request.user`` the token's user, loaded on first use.
    """

    def authenticate(self, request):
        try:
            token = get_bearer_token(request._request)
        except MalformedRequest as exc:
            raise InvalidBearerRequest(str(exc)) from exc
        if token is None:
            return None
        try:
            validated: ValidatedToken = validate_bearer_token(token, request._request)
        except InvalidToken as exc:
            request._request.oauthkit_challenge = www_authenticate("invalid_token", exc.description)
            raise InvalidBearerToken(exc.description) from exc
        except ProviderUnavailable as exc:
            raise ProviderUnavailableError() from exc
        return validated.user(), validated

    def authenticate_header(self, request) -> str:
        # DRF sends this on 401: the specific error when a token was refused, else the
        # bare challenge (RFC 6750 §3.1: no error code when no token was sent).
        # DRF asks a fresh instance, so the challenge travels on the request.
        django_request = getattr(request, "_request", request)
        return getattr(django_request, "oauthkit_challenge", None) or www_authenticate()
