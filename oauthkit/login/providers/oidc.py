"""The generic OpenID Connect provider: everything from the issuer URL (OIDC Discovery)."""

from __future__ import annotations

from ..errors import ConfigurationError
from .base import Provider, ProviderConfig, register


@register
class OpenIDConnectProvider(Provider):
    """Any OpenID Provider, configured with ``issuer``, ``client_id`` and ``client_secret``.

    Endpoints and keys come from ``<issuer>/.well-known/openid-configuration`` (cached);
    any endpoint may still be set explicitly in the configuration.
    """

    slug = "oidc"
    name = "OpenID Connect"
    kind = "oidc"

    def __init__(self, config: ProviderConfig):
        super().__init__(config)
        if not self.issuer:
            raise ConfigurationError(code="missing_issuer")
