"""The provider adapter: the questions a site decides for itself.

Subclass ``ProviderAdapter`` and name it in ``OAUTHKIT["ADAPTER"]`` to change how
subjects are formed or which claims access tokens carry.
"""

from __future__ import annotations

from typing import Any

from ..conf import oauthkit_settings


class ProviderAdapter:
    """Default policy; every method may be overridden."""

    def get_subject(self, user) -> str:
        """The ``sub`` of tokens issued for ``user`` (public subject identifier)."""
        return str(user.pk)

    def get_username(self, user) -> str:
        """The ``username`` introspection returns (RFC 7662 §2.2)."""
        return user.get_username()

    def extra_access_token_claims(self, *, client, user, scopes: list[str]) -> dict[str, Any]:
        """Extra claims put into JWT access tokens; none by default."""
        return {}


def get_adapter() -> ProviderAdapter:
    return oauthkit_settings.ADAPTER()
