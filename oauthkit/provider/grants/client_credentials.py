"""Client credentials grant (RFC 6749 §4.4)."""

from __future__ import annotations

import uuid

from ..scopes import resolve_scopes
from ..tokens import TokenResponse
from .base import Grant


class ClientCredentialsGrant(Grant):
    grant_type = "client_credentials"
    # RFC 6749 §4.4: only confidential clients.
    allows_public_clients = False

    def handle(self) -> TokenResponse:
        scopes = resolve_scopes(self.client, self.params.get("scope"))
        audience = self.requested_resource()
        # RFC 6749 §4.4.3: no refresh token.
        return self.issue(user=None, scopes=scopes, grant_id=uuid.uuid4(), audience=audience)
