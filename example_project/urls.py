from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import TemplateView

from oauthkit.login.views import whoami

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/oauth/", include("oauthkit.login.urls")),
    path("accounts/whoami/", whoami, name="whoami"),
    path("o/", include("oauthkit.provider.urls")),
    path(".well-known/", include("oauthkit.provider.well_known_urls")),
    path("api/", include("example_project.api.urls")),
    path("", include("example_project.demo.urls")),
    path("bench/", include("example_project.demo.ceiling")),  # empty unless benchmarking
]
