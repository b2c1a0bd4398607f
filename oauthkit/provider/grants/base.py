"""The grant interface and the registry that maps ``grant_type`` to a grant class."""

from __future__ import annotations

from typing import ClassVar

from django.http import HttpRequest, QueryDict

from ...conf import oauthkit_settings, settings_reloaded
from ..models import Client
from ..tokens import TokenResponse


class Grant:
    """One grant type of the token endpoint (RFC 6749 §4).

    The token endpoint authenticates the client, checks that it may use this grant,
    then calls ``handle()`` inside a transaction. ``handle`` validates everything
    before it writes anything, and raises an ``OAuthError`` on failure, which rolls
    the transaction back. Writes that must survive the failure (revoking a replayed
    code's tokens) go in ``on_failure``, which runs in a transaction of its own.
    """

    grant_type: ClassVar[str]
    #: Whether public clients (method ``none``) may use this grant.
    allows_public_clients: ClassVar[bool] = True

    def __init__(self, request: HttpRequest, client: Client, params: QueryDict, issuer: str):
        self.request = request
        self.client = client
        self.params = params
        self.issuer = issuer

    def handle(self) -> TokenResponse:
        raise NotImplementedError

    def on_failure(self, error: Exception) -> None:
        """Security writes that must persist although ``handle`` failed."""


_registry: dict[str, type[Grant]] | None = None


def grant_registry() -> dict[str, type[Grant]]:
    """``grant_type`` -> grant class, from ``GRANT_TYPES``; rebuilt when settings change."""
    global _registry
    if _registry is None:
        _registry = {cls.grant_type: cls for cls in oauthkit_settings.GRANT_TYPES}
    return _registry


def _clear_registry(**kwargs) -> None:
    global _registry
    _registry = None


settings_reloaded.connect(_clear_registry)
