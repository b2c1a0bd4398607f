"""Discovery documents and the JWKS."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views import View

from ..keys import key_ring
from ..metadata import authorization_server_metadata
from .base import allow_cors


def public_json(body: dict, max_age: int = 300) -> JsonResponse:
    response = JsonResponse(body)
    response["Cache-Control"] = f"public, max-age={max_age}"
    return allow_cors(response, methods="GET")


class ProviderMetadataView(View):
    """RFC 8414 §3: GET {issuer}/.well-known/oauth-authorization-server."""

    http_method_names = ["get", "options"]

    def get(self, request: HttpRequest) -> JsonResponse:
        return public_json(authorization_server_metadata(request))


class JWKSView(View):
    """The public signing keys, including retired keys whose tokens may still be valid."""

    http_method_names = ["get", "options"]

    def get(self, request: HttpRequest) -> JsonResponse:
        return public_json(key_ring.jwks())
