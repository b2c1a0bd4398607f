"""A throwaway API for the resource tests: DRF views behind ``OAuth2Authentication``.

Used with ``pytest.mark.urls("tests.resource.api")``; the provider's endpoints are mounted
too, so tokens are issued and revoked through real requests (and, in remote mode, the
live server answers metadata, JWKS and introspection over HTTP).
"""

from django.urls import include, path
from rest_framework.authentication import BasicAuthentication
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from oauthkit.drf.authentication import OAuth2Authentication


class HasToken(BasePermission):
    """Passes only when a bearer token was validated (kept here, independent of
    ``oauthkit.drf.permissions``, which has tests of its own)."""

    def has_permission(self, request, view) -> bool:
        return request.auth is not None


def describe(auth) -> dict:
    return {
        "scopes": sorted(auth.scopes),
        "client_id": auth.client_id,
        "subject": auth.subject,
        "jti": auth.jti,
        "expires_at": int(auth.expires_at.timestamp()),
        "audience": auth.audience,
    }


class Echo(APIView):
    """Describes ``request.auth`` and never touches ``request.user``."""

    authentication_classes = [OAuth2Authentication]
    permission_classes = [HasToken]

    def get(self, request):
        return Response(describe(request.auth))

    def post(self, request):
        return Response({**describe(request.auth), "data": sorted(request.data)})


class WhoAmI(APIView):
    """Describes ``request.user``."""

    authentication_classes = [OAuth2Authentication]
    permission_classes = [HasToken]

    def get(self, request):
        user = request.user
        return Response(
            {
                "user": str(user),
                "pk": user.pk,
                "is_authenticated": user.is_authenticated,
                "client_id": getattr(user, "client_id", None),
            }
        )


class BearerOrBasic(APIView):
    """Bearer first, then Basic: a Basic header must reach the second authenticator."""

    authentication_classes = [OAuth2Authentication, BasicAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"user": str(request.user), "auth": request.auth})


urlpatterns = [
    path("api/echo", Echo.as_view()),
    path("api/whoami", WhoAmI.as_view()),
    path("api/either", BearerOrBasic.as_view()),
    path("o/", include("oauthkit.provider.urls")),
    path(".well-known/", include("oauthkit.provider.well_known_urls")),
]
