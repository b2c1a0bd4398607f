"""Introspection endpoint (RFC 7662)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, QueryDict

from ..adapter import get_adapter
from ..client_auth import authenticate_client
from ..errors import InvalidClient, InvalidRequest
from ..issuer import get_issuer
from ..tokens import find_access_token, find_refresh_token
from .base import BackChannelView, json_response

INACTIVE = {"active": False}


class IntrospectionView(BackChannelView):
    """Answer whether a token is active, for confidential clients only.

    A client with ``can_introspect`` may introspect any token; any other confidential
    client only its own. Expired, revoked, unknown and foreign tokens are all just
    ``{"active": false}`` (RFC 7662 §2.2).
    """

    def process(self, request: HttpRequest, params: QueryDict) -> HttpResponse:
        client = authenticate_client(request, params)
        if client.is_public:
            raise InvalidClient("Public clients may not introspect tokens.")
        value = params.get("token")
        if not value:
            raise InvalidRequest("token is required.")
        issuer = get_issuer(request)
        finders = [
            lambda: find_access_token(value, issuer=issuer),
            lambda: find_refresh_token(value),
        ]
        if params.get("token_type_hint") == "refresh_token":
            finders.reverse()
        for find in finders:
            token = find()
            if token is not None:
                break
        if token is None or not token.is_active:
            return json_response(INACTIVE)
        if token.client_id != client.pk and not client.can_introspect:
            return json_response(INACTIVE)
        return json_response(describe_token(token, issuer))


def describe_token(token, issuer: str) -> dict:
    """RFC 7662 §2.2 members for an active token."""
    adapter = get_adapter()
    body = {
        "active": True,
        "scope": token.scope,
        "client_id": token.client.client_id,
        "token_type": "Bearer" if hasattr(token, "jti") else "refresh_token",
        "exp": int(token.expires_at.timestamp()),
        "iat": int(token.created.timestamp()),
        "iss": issuer,
    }
    if token.user is not None:
        body["sub"] = adapter.get_subject(token.user)
        body["username"] = adapter.get_username(token.user)
    else:
        body["sub"] = token.client.client_id
    if hasattr(token, "jti"):
        body["jti"] = token.jti
        body["aud"] = token.audience
    return body
