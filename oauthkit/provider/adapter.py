"""The provider adapter: the questions a site decides for itself.

Subclass ``ProviderAdapter`` and name it in ``OAUTHKIT["ADAPTER"]`` to change how
subjects are formed or which claims access tokens carry.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from ..conf import oauthkit_settings


class ProviderAdapter:
    """Default policy; every method may be overridden."""

    def get_subject(self, user) -> str:
        """The ``sub`` of tokens issued for ``user`` (public subject identifier)."""
        return str(user.pk)

    def get_client_subject(self, user, client) -> str:
        """The ``sub`` a client sees in ID tokens and UserInfo (OIDC Core §8).

        Public clients see ``get_subject``; pairwise clients a value unique to their
        sector (``pairwise_subject``), so that clients of different sectors cannot
        correlate a user. Access tokens and introspection keep the public subject: their
        audience is an API, not the client.
        """
        if client.subject_type == "pairwise":
            return pairwise_subject(self.get_subject(user), sector_identifier(client))
        return self.get_subject(user)

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

    def get_claims(self, user, names: list[str], *, client, scopes: list[str]) -> dict[str, Any]:
        """OpenID Connect claim values for ``user`` (Core §5.1); return what you have.

        The default reads Django's user model: name, given_name, family_name,
        preferred_username and email. ``email_verified`` is not claimed, since Django
        does not verify addresses: override this method to add it and your own claims.
        """
        full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
        return {
            "name": full_name,
            "given_name": getattr(user, "first_name", ""),
            "family_name": getattr(user, "last_name", ""),
            "preferred_username": user.get_username(),
            "email": getattr(user, "email", ""),
        }

    def supported_claims(self) -> list[str]:
        """The claim names ``get_claims`` can return (advertised in discovery)."""
        return ["name", "given_name", "family_name", "preferred_username", "email"]

    def extra_access_token_claims(self, *, client, user, scopes: list[str]) -> dict[str, Any]:
        """Extra claims put into JWT access tokens; none by default."""
        return {}


def sector_identifier(client) -> str:
    """The host a pairwise client's subjects are computed for (OIDC Core §8.1)."""
    uri = client.sector_identifier_uri or (client.redirect_uris or [""])[0]
    return (urlsplit(uri).hostname or "").lower()


def pairwise_subject(public_subject: str, sector: str) -> str:
    """Core §8.1: a hash of sector, local id and a salt; stable, not reversible."""
    salt = oauthkit_settings.PAIRWISE_SALT or settings.SECRET_KEY
    digest = hashlib.sha256(f"{sector}|{public_subject}|{salt}".encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def get_adapter() -> ProviderAdapter:
    return oauthkit_settings.ADAPTER()
