"""Provider presets: one small declarative module per provider, registered by slug.

Importing this package registers them all (``base._BUILTIN_MODULES`` imports it on the
first registry lookup). Okta, Auth0, Keycloak and oauthkit itself need no preset: use
``"kind": "oidc"`` with their issuer (docs/login-providers.md).
"""

from . import apple, discord, facebook, github, gitlab, google, microsoft, slack, x

__all__ = ["apple", "discord", "facebook", "github", "gitlab", "google", "microsoft", "slack", "x"]
