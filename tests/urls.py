from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("o/", include("oauthkit.provider.urls")),
    path(".well-known/", include("oauthkit.provider.well_known_urls")),
    path("accounts/oauth/", include("oauthkit.login.urls")),
]
