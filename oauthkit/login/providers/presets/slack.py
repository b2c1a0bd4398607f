"""Sign in with Slack (OpenID Connect)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from ...errors import AccountError
from ..base import Profile, Provider, register
from ..oauth2 import raise_for_oauth_error

if TYPE_CHECKING:
    from django.http import HttpRequest

    from ...http import ProviderHTTP
    from ..base import PendingLike


TEAM_CLAIM = "https://slack.com/team_id"


@register
class SlackProvider(Provider):
    """Slack. ``email_verified`` comes from the ID token. Setting ``team`` (a workspace
    ID, "T0123...") preselects that workspace and refuses members of any other
    (the ``https://slack.com/team_id`` claim)."""

    slug = "slack"
    name = "Slack"
    issuer = "https://slack.com"
    authorization_endpoint = "https://slack.com/openid/connect/authorize"
    token_endpoint = "https://slack.com/api/openid.connect.token"
    userinfo_endpoint = "https://slack.com/api/openid.connect.userInfo"
    jwks_uri = "https://slack.com/openid/connect/keys"
    token_endpoint_auth_method = "client_secret_post"

    def authorization_params(self, request: HttpRequest, pending: PendingLike) -> dict[str, str]:
        params = super().authorization_params(request, pending)
        if self.setting("team"):
            params["team"] = self.setting("team")
        return params

    def token_request(
        self, http: ProviderHTTP, data: dict[str, str], token_endpoint: str
    ) -> dict[str, Any]:
        # Slack answers errors with 200 and {"ok": false, "error": ...}.
        return raise_for_oauth_error(super().token_request(http, data, token_endpoint))

    def fetch_profile(
        self, http: ProviderHTTP, token_response: dict[str, Any], id_claims: dict[str, Any] | None
    ) -> Profile:
        profile = super().fetch_profile(http, token_response, id_claims)
        team = self.setting("team")
        if team and (id_claims or {}).get(TEAM_CLAIM) != team:
            raise AccountError(_("Sign in with a member account of the right Slack workspace."))
        return profile
