"""The provider's endpoints; include under a prefix of your choice::

path("o/", include("oauthkit.provider.urls")),
path(".well-known/", include("oauthkit.provider.well_known_urls")),
"""

from django.urls import path

from .endpoints.authorize import AuthorizationView
from .endpoints.end_session import EndSessionView
from .endpoints.introspection import IntrospectionView
from .endpoints.metadata import JWKSView
from .endpoints.revocation import RevocationView
from .endpoints.token import TokenView
from .endpoints.userinfo import UserInfoView

app_name = "oauthkit"

urlpatterns = [
    path("authorize/", AuthorizationView.as_view(), name="authorization"),
    path("token/", TokenView.as_view(), name="token"),
    path("revoke/", RevocationView.as_view(), name="revocation"),
    path("introspect/", IntrospectionView.as_view(), name="introspection"),
    path("jwks/", JWKSView.as_view(), name="jwks"),
    path("userinfo/", UserInfoView.as_view(), name="userinfo"),
    path("end_session/", EndSessionView.as_view(), name="end_session"),
]
