"""Sign in with GitLab (OpenID Connect), gitlab.com or a self-hosted instance."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..base import Provider, register

if TYPE_CHECKING:
    from ..base import ProviderConfig


@register
class GitLabProvider(Provider):
    """GitLab. The ``issuer`` option (default ``https://gitlab.com``) selects a
    self-hosted instance; its endpoints follow from it. ``email_verified``, ``nickname``
    (the username) and ``sub`` (the numeric user id) come from the ID token.
    """

    slug = "gitlab"
    name = "GitLab"
    issuer = "https://gitlab.com"

    def __init__(self, config: ProviderConfig):
        super().__init__(config)
        base = (self.issuer or "").rstrip("/")
        # GitLab's endpoints sit at fixed paths under the instance URL (its discovery
        # document says the same), so no discovery request is needed.
        defaults = {
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "userinfo_endpoint": f"{base}/oauth/userinfo",
            "jwks_uri": f"{base}/oauth/discovery/keys",
            "revocation_endpoint": f"{base}/oauth/revoke",
        }
        for attr, url in defaults.items():
            if not getattr(self, attr):
                setattr(self, attr, url)
