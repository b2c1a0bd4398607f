from django.urls import path

from . import views

app_name = "api"

urlpatterns = [
    path("ping", views.Ping.as_view(), name="ping"),
    path("ping/open", views.OpenPing.as_view(), name="ping-open"),
    path("users/", views.UserList.as_view(), name="user-list"),
    path("users/<int:user_id>/", views.UserDetail.as_view(), name="user-detail"),
    path("projects/<int:project_id>/", views.ProjectDetail.as_view(), name="project-detail"),
]
