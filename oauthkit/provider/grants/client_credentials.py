"""Client credentials grant (RFC 6749 §4.4)."""

from __future__ import annotations

import uuid

from ..events import token_issued
from ..scopes import resolve_scopes
from ..tokens import TokenResponse, issue_access_token
from .base import Grant


class ClientCredentialsGrant(Grant):
    grant_type = "client_credentials"
    # RFC 6749 §4.4: only confidential clients.
    allows_public_clients = False

    def handle(self) -> TokenResponse:
        scopes = resolve_scopes(self.client, self.params.get("scope"))
        raw, row = issue_access_token(
            client=self.client, user=None, scopes=scopes, grant_id=uuid.uuid4(), issuer=self.issuer
        )
        token_issued(
            request=self.request,
            client=self.client,
            user=None,
            grant_type=self.grant_type,
            access_token=row,
        )
        # RFC 6749 §4.4.3: no refresh token.
        return TokenResponse(access_token=raw, expires_in=_seconds_left(row), scope=scopes)


def _seconds_left(row) -> int:
    return int((row.expires_at - row.created).total_seconds())
