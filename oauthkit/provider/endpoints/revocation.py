"""Revocation endpoint (RFC 7009)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, QueryDict

from ..client_auth import authenticate_client
from ..errors import InvalidRequest
from ..events import revoke_grant, tokens_revoked
from ..issuer import get_issuer
from ..models import AccessToken
from ..tokens import find_access_token, find_refresh_token
from .base import BackChannelView


class RevocationView(BackChannelView):
    """Revoke an access or refresh token of the authenticated client.

    Unknown tokens, and tokens of other clients, get 200 and nothing happens
    (RFC 7009 §2.2): the answer never tells a client whether a token exists.
    """

    def process(self, request: HttpRequest, params: QueryDict) -> HttpResponse:
        client = authenticate_client(request, params)
        value = params.get("token")
        if not value:
            raise InvalidRequest("token is required.")
        # RFC 7009 §2.1: the hint speeds up the search but is not trusted.
        finders = [self.revoke_access_token, self.revoke_refresh_token]
        if params.get("token_type_hint") == "refresh_token":
            finders.reverse()
        for revoke in finders:
            if revoke(request, client, value):
                break
        return HttpResponse(status=200)

    def revoke_access_token(self, request, client, value: str) -> bool:
        token = find_access_token(value, issuer=get_issuer(request))
        if token is None:
            return False
        if token.client_id == client.pk:
            count = AccessToken.objects.filter(pk=token.pk).revoke()
            tokens_revoked(client=client, grant_id=None, reason="revocation_endpoint", count=count)
        return True

    def revoke_refresh_token(self, request, client, value: str) -> bool:
        token = find_refresh_token(value)
        if token is None:
            return False
        if token.client_id == client.pk:
            # RFC 7009 §2.1: revoking a refresh token revokes the tokens of its grant.
            revoke_grant(client, token.grant_id, reason="revocation_endpoint")
        return True
