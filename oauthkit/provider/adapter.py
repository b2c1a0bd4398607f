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

    def get_user_for_token(self, token):
        """The user an API request's token stands for (``oauthkit.resource``).

        Local mode: the user whose primary key the token names (the default subject);
        remote mode: a ``TokenUser`` carrying the subject. None means anonymous.
        """
        from django.contrib.auth import get_user_model
        from django.core.exceptions import ValidationError

        from ..resource import TokenUser, settings_

        if settings_()["MODE"] == "remote":
            return TokenUser(token.subject) if token.subject else None
        user_id = token.user_id if token.user_id is not None else token.subject
        model = get_user_model()
        try:
            return model._default_manager.get(pk=user_id, is_active=True)
        except (model.DoesNotExist, ValueError, TypeError, ValidationError):
            return None

    def extra_access_token_claims(self, *, client, user, scopes: list[str]) -> dict[str, Any]:
        """Extra claims put into JWT access tokens; none by default."""
        return {}


def get_adapter() -> ProviderAdapter:
    return oauthkit_settings.ADAPTER()
