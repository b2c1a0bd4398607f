"""The provider's endpoints; include under a prefix of your choice::

path("o/", include("oauthkit.provider.urls")),
path(".well-known/", include("oauthkit.provider.well_known_urls")),
"""

from django.urls import path

from .applications import authorized as authorized_applications
from .applications import developer as developer_applications
from .endpoints.authorize import AuthorizationView
from .endpoints.device import DeviceAuthorizationView, DeviceVerificationView
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
    path(
        "applications/authorized/",
        authorized_applications.AuthorizedApplicationsView.as_view(),
        name="authorized_applications",
    ),
    path(
        "applications/developer/",
        developer_applications.DeveloperApplicationsView.as_view(),
        name="developer_applications",
    ),
    path(
        "applications/developer/new/",
        developer_applications.DeveloperApplicationCreateView.as_view(),
        name="developer_application_create",
    ),
    path(
        "applications/developer/<int:pk>/",
        developer_applications.DeveloperApplicationView.as_view(),
        name="developer_application",
    ),
    path(
        "applications/developer/<int:pk>/secret/",
        developer_applications.DeveloperSecretView.as_view(),
        name="developer_application_secret",
    ),
    path(
        "applications/developer/<int:pk>/delete/",
        developer_applications.DeveloperDeleteView.as_view(),
        name="developer_application_delete",
    ),
    path("device/", DeviceAuthorizationView.as_view(), name="device_authorization"),
    path("device/verify/", DeviceVerificationView.as_view(), name="device_verification"),
]
