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
        #: Authentication parameters the retry link repeats (``max_age`` of a step-up).
        self.retry_params: dict[str, str] = {}
        super().__init__(self.description)


class ProviderError(LoginError):
    """The provider answered with an OAuth error (``access_denied``, ``invalid_scope`` ...)."""

    code = "provider_error"
    default_description = _("The provider refused the request.")

    @classmethod
    def from_response(cls, error: str, description: str | None) -> ProviderError:
        """The error of an authorization response (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6).

        The answers to ``prompt=none`` get our own words: the provider's are often
        technical, and the person needs to know that signing in there is the way on.
        """
        return cls(PROMPT_NONE_ERRORS.get(error) or description or None, code=error)


#: OIDC Core §3.1.2.6: what a provider answers when ``prompt=none`` cannot be honoured.
PROMPT_NONE_ERRORS = {
    "login_required": _("You are not signed in at the provider. Sign in there to continue."),
    "interaction_required": _("The provider needs you to take part in signing in. Try again."),
    "consent_required": _("The provider needs your consent before signing you in here."),
    "account_selection_required": _(
        "The provider needs you to choose an account before signing you in here."
    ),
}


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


class AuthenticationTooOld(LoginError):
    """The provider's last authentication of the person (``auth_time``) is older than the
    ``max_age`` the sign-in asked for (OIDC Core §3.1.2.1, §3.1.3.7 step 13)."""

    code = "auth_too_old"
    default_description = _(
        "The provider did not confirm a recent sign-in, which this step needs. Sign in again."
    )
    status = 403


class InvalidAuthParameter(LoginError):
    """A start-login request with a ``prompt``, ``max_age`` ... value that is not allowed;
    ``code`` is ``invalid_<parameter>``."""

    code = "invalid_auth_parameter"
    default_description = _("This sign-in link has a parameter that is not allowed.")


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
