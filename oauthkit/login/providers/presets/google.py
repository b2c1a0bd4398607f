"""Sign in with Google (OpenID Connect)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from ...errors import AccountError
from ..base import Profile, Provider, register

if TYPE_CHECKING:
    from django.http import HttpRequest

    from ...http import ProviderHTTP
    from ..base import PendingLike


@register
class GoogleProvider(Provider):
    """Google accounts. ``email_verified`` comes from the ID token.

    Setting ``hosted_domain`` ("example.com") asks Google for that Workspace domain
    (``hd`` parameter) and refuses any account whose ``hd`` claim differs: the
    parameter alone is only a hint the user can edit.
    """

    slug = "google"
    name = "Google"
    issuer = "https://accounts.google.com"
    authorization_endpoint = "https://accounts.google.com/o/oauth2/v2/auth"
    token_endpoint = "https://oauth2.googleapis.com/token"
    userinfo_endpoint = "https://openidconnect.googleapis.com/v1/userinfo"
    jwks_uri = "https://www.googleapis.com/oauth2/v3/certs"
    revocation_endpoint = "https://oauth2.googleapis.com/revoke"

    def expected_issuers(self, claims: dict[str, Any]) -> set[str]:
        # Google documents both forms of `iss` in its ID tokens.
        return {self.issuer, "accounts.google.com"} if self.issuer else set()

    def authorization_params(self, request: HttpRequest, pending: PendingLike) -> dict[str, str]:
        params = super().authorization_params(request, pending)
        if self.setting("hosted_domain"):
            params["hd"] = self.setting("hosted_domain")
        return params

    def fetch_profile(
        self, http: ProviderHTTP, token_response: dict[str, Any], id_claims: dict[str, Any] | None
    ) -> Profile:
        profile = super().fetch_profile(http, token_response, id_claims)
        domain = self.setting("hosted_domain")
        if domain and (id_claims or {}).get("hd") != domain:
            raise AccountError(_("Sign in with an account of your organisation."))
        return profile
