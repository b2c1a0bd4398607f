"""Discovery documents; include at the site root's ``.well-known/`` (RFC 8414 §3, RFC 8615)."""

from django.urls import path

from .endpoints.metadata import OpenIDConfigurationView, ProviderMetadataView

urlpatterns = [
    path(
        "oauth-authorization-server",
        ProviderMetadataView.as_view(),
        name="oauthkit-authorization-server-metadata",
    ),
    path(
        "openid-configuration",
        OpenIDConfigurationView.as_view(),
        name="oauthkit-openid-configuration",
    ),
]
