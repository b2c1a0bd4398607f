"""URLs of the login side; include them under a prefix, e.g. ``accounts/oauth/``::

path("accounts/oauth/", include("oauthkit.login.urls"))
"""

from django.urls import path

from . import views

app_name = "oauthkit_login"

urlpatterns = [
    path("", views.ConnectionsView.as_view(), name="connections"),
    path("signup/", views.SignupView.as_view(), name="signup"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("disconnect/<int:pk>/", views.DisconnectView.as_view(), name="disconnect"),
    path("<slug:provider>/login/", views.ProviderLoginView.as_view(), name="login"),
    path("<slug:provider>/connect/", views.ConnectView.as_view(), name="connect"),
    path("<slug:provider>/callback/", views.CallbackView.as_view(), name="callback"),
    path(
        "<slug:provider>/backchannel-logout/",
        views.BackchannelLogoutView.as_view(),
        name="backchannel_logout",
    ),
]
