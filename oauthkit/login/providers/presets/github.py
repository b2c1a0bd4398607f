"""Sign in with GitHub (OAuth 2, not OpenID Connect: the profile comes from its REST API)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import ProviderUnavailable
from ..base import Profile, register
from ..oauth2 import OAuth2Provider

if TYPE_CHECKING:
    from ...http import ProviderHTTP


@register
class GitHubProvider(OAuth2Provider):
    """GitHub (or GitHub Enterprise Server through endpoint overrides).

    The subject is the numeric ``id`` (logins can be renamed). The email is the
    *verified primary* address from ``/user/emails``, else another verified one;
    unverified addresses are never used.
    """

    slug = "github"
    name = "GitHub"
    authorization_endpoint = "https://github.com/login/oauth/authorize"
    token_endpoint = "https://github.com/login/oauth/access_token"
    userinfo_endpoint = "https://api.github.com/user"
    default_scopes: ClassVar[list[str]] = ["read:user", "user:email"]
    token_endpoint_auth_method = "client_secret_post"
    profile_mapping: ClassVar[dict[str, str]] = {
        "subject": "id",
        "username": "login",
        "name": "name",
        "picture": "avatar_url",
    }
    userinfo_headers: ClassVar[dict[str, str]] = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }

    def fetch_profile(
        self, http: ProviderHTTP, token_response: dict[str, Any], id_claims: dict[str, Any] | None
    ) -> Profile:
        profile = super().fetch_profile(http, token_response, id_claims)
        url = self.profile_url(http, token_response).rstrip("/") + "/emails"
        headers = {**self.userinfo_headers, **self.bearer(token_response)}
        response = http.request("GET", url, headers=headers)
        # A GitHub App without the "email addresses" permission gets 403/404 here: the
        # person can still sign in, only without an email.
        if response.status_code in (403, 404):
            emails: Any = []
        elif response.status_code != 200:
            raise ProviderUnavailable()
        else:
            try:
                emails = response.json()
            except ValueError:
                raise ProviderUnavailable() from None
        profile.email = verified_email(emails)
        profile.email_verified = profile.email is not None
        profile.raw = {**profile.raw, "emails": emails}
        return profile


def verified_email(emails: Any) -> str | None:
    """The verified primary address, else the first verified one, else None."""
    if not isinstance(emails, list):
        return None
    verified = [
        e
        for e in emails
        if isinstance(e, dict) and e.get("verified") is True and isinstance(e.get("email"), str)
    ]
    verified.sort(key=lambda e: e.get("primary") is not True)
    return verified[0]["email"] if verified else None
