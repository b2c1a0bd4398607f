"""Token endpoint (RFC 6749 §3.2)."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse, QueryDict

from ..client_auth import authenticate_client
from ..errors import (
    InvalidRequest,
    OAuthError,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from ..grants.base import Grant, grant_registry
from ..issuer import get_issuer
from .base import BackChannelView, json_response


class TokenView(BackChannelView):
    """Authenticate the client, pick the grant by ``grant_type``, run it in one transaction."""

    def process(self, request: HttpRequest, params: QueryDict) -> HttpResponse:
        grant_class = self.grant_class(params)
        client = authenticate_client(request, params)
        self.check_client_may_use(client, grant_class)
        grant = grant_class(request, client, params, get_issuer(request))
        try:
            with transaction.atomic():
                result = grant.handle()
        except OAuthError as error:
            with transaction.atomic():
                grant.on_failure(error)
            raise
        return json_response(result.as_dict())

    def grant_class(self, params: QueryDict) -> type[Grant]:
        grant_type = params.get("grant_type")
        if not grant_type:
            raise InvalidRequest("grant_type is required.")
        try:
            return grant_registry()[grant_type]
        except KeyError:
            raise UnsupportedGrantType(f"Unsupported grant_type: {grant_type}.") from None

    def check_client_may_use(self, client, grant_class: type[Grant]) -> None:
        # RFC 6749 §5.2 unauthorized_client.
        if not client.allows_grant_type(grant_class.grant_type):
            raise UnauthorizedClient(f"This client may not use {grant_class.grant_type}.")
        if client.is_public and not grant_class.allows_public_clients:
            raise UnauthorizedClient(f"Public clients may not use {grant_class.grant_type}.")
