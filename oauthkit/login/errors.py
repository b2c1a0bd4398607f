"""Errors of the login side. Each carries a stable ``code`` and a message safe to show."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class LoginError(Exception):
    """A sign-in that cannot complete; the callback view turns it into the error page.

    ``code`` is stable (tests and templates may switch on it); ``description`` is for people
    and never contains tokens or secrets.
    """

    code = "login_failed"
    default_description = _("Signing in did not work.")
    #: HTTP status of the error page.
    status = 400
    #: Where the sign-in meant to go, for the retry link (set once the request is known).
    next_url = ""

    def __init__(self, description: str | None = None, *, code: str | None = None):
        self.description = str(description or self.default_description)
        if code:
            self.code = code
        super().__init__(self.description)


class ProviderError(LoginError):
    """The provider answered with an OAuth error (``access_denied``, ``invalid_scope`` ...)."""

    code = "provider_error"
    default_description = _("The provider refused the request.")


class ProviderUnavailable(LoginError):
    """The provider could not be reached, timed out, or answered with something unusable."""

    code = "provider_unavailable"
    default_description = _("The provider could not be reached. Try again in a moment.")
    status = 502


class InvalidState(LoginError):
    """``state`` missing, unknown, used, expired or from another browser (RFC 6749 §10.12)."""

    code = "invalid_state"
    default_description = _("This sign-in link is not valid any more. Start again.")


class IssuerMismatch(LoginError):
    """The authorization response names another issuer (RFC 9207 §2.4, mix-up defence)."""

    code = "issuer_mismatch"
    default_description = _("The response came from an unexpected provider.")


class InvalidIDToken(LoginError):
    """The ID token failed validation (OIDC Core §3.1.3.7)."""

    code = "invalid_id_token"
    default_description = _("The provider's identity token is not valid.")


class InvalidUserInfo(LoginError):
    """The UserInfo response is unusable or names another subject (OIDC Core §5.3.4)."""

    code = "invalid_userinfo"
    default_description = _("The provider's profile answer is not valid.")


class AccountError(LoginError):
    """The site's account policy refuses this sign-in (sign-up closed, link not allowed ...)."""

    code = "account_error"
    default_description = _("This account cannot be used to sign in here.")
    status = 403


class ConfigurationError(LoginError):
    """The provider is not configured correctly (missing client_id, unknown kind ...)."""

    code = "configuration_error"
    default_description = _("This sign-in method is not configured correctly.")
    # Not 500: the page is a deliberate answer, and the site itself works.
    status = 503


class TokenUnavailable(LoginError):
    """No usable stored token: none stored, no refresh token, or the refresh failed."""

    code = "token_unavailable"
    default_description = _("No valid token is stored for this account.")
