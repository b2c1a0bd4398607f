import pytest
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from oauthkit.drf.authentication import OAuth2Authentication
from tests.helpers import basic_auth, post_form

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


class Echo(APIView):
    authentication_classes = [OAuth2Authentication]
    permission_classes = []

    def get(self, request):
        return Response({"user": str(request.user), "scopes": sorted(request.auth.scopes)})


urlpatterns = [
    path("echo", Echo.as_view()),
    path("o/", __import__("django.urls").urls.include("oauthkit.provider.urls")),
]


def test_client_credentials_token_authenticates(client, oauth_client):
    token = post_form(
        client, "/o/token/", {"grant_type": "client_credentials"}, **basic_auth(oauth_client)
    ).json()["access_token"]
    response = client.get("/echo", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response.json() == {"user": f"client:{oauth_client.client_id}", "scopes": ["read"]}


def test_bad_token_is_401_with_invalid_token(client):
    response = client.get("/echo", HTTP_AUTHORIZATION="Bearer a.b.c")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
