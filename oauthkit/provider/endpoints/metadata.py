"""Discovery documents and the JWKS."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import View

from ..keys import key_ring
from ..metadata import authorization_server_metadata, openid_configuration
from .base import allow_cors


def public_json(body: dict, max_age: int = 300) -> JsonResponse:
    response = JsonResponse(body)
    response["Cache-Control"] = f"public, max-age={max_age}"
    return allow_cors(response, methods="GET")


class PublicDocumentView(View):
    """A GET-only public JSON document that browsers may fetch from any origin."""

    http_method_names = ["get", "options"]

    def options(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # A CORS preflight must carry the same Access-Control-* headers as the GET.
        return allow_cors(super().options(request, *args, **kwargs), methods="GET")


class ProviderMetadataView(PublicDocumentView):
    """RFC 8414 §3: GET {issuer}/.well-known/oauth-authorization-server."""

    def get(self, request: HttpRequest) -> JsonResponse:
        return public_json(authorization_server_metadata(request))


class OpenIDConfigurationView(PublicDocumentView):
    """OpenID Connect Discovery 1.0 §4: GET {issuer}/.well-known/openid-configuration."""

    def get(self, request: HttpRequest) -> JsonResponse:
        return public_json(openid_configuration(request))


class JWKSView(PublicDocumentView):
    """The public signing keys, including retired keys whose tokens may still be valid."""

    def get(self, request: HttpRequest) -> JsonResponse:
        return public_json(key_ring.jwks())
