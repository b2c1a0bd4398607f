"""A small API protected by resource-style scopes (read:users, write:users, delete:users,
admin:all, and the dynamic read:project:<id>), plus the ping pair the benchmarks use."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.shortcuts import get_object_or_404
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from oauthkit.drf import (
    OAuth2Authentication,
    TokenHasResourceScope,
    TokenHasScope,
    TokenMatchesScopes,
)

#: Holders of admin:all may do anything the other scopes allow.
IsAdminToken = TokenHasScope.require("admin:all")


class ApiView(APIView):
    """JSON only; bearer tokens only (OAuth2Authentication first: DRF sends the first
    authenticator's challenge on 401)."""

    authentication_classes = [OAuth2Authentication]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    throttle_classes = []


class Ping(ApiView):
    """``GET /api/ping``: needs a token with ``read``; no database access beyond the
    token's revocation check."""

    permission_classes = [TokenHasScope.require("read")]

    def get(self, request):
        return Response({"pong": True})


class OpenPing(ApiView):
    """``GET /api/ping/open``: the same view without authentication (the benchmark's ceiling)."""

    authentication_classes = []
    permission_classes = []

    def get(self, request):
        return Response({"pong": True})


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ["id", "username"]


class UserList(ApiView):
    """``GET`` needs read:users, ``POST`` write:users (or admin:all for both)."""

    resource_name = "users"
    permission_classes = [TokenHasResourceScope | IsAdminToken]

    def get(self, request):
        users = get_user_model().objects.order_by("pk")[:100]
        return Response(UserSerializer(users, many=True).data)

    def post(self, request):
        serializer = UserSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save(password=make_password(None))  # an API-made user cannot log in
        return Response(serializer.data, status=status.HTTP_201_CREATED)


class UserDetail(ApiView):
    """``GET`` needs read:users, ``DELETE`` delete:users; admin:all is enough for either."""

    permission_classes = [
        TokenMatchesScopes.require(
            {
                "GET": [["read:users"], ["admin:all"]],
                "DELETE": [["delete:users"], ["admin:all"]],
            }
        )
    ]

    def get(self, request, user_id: int):
        user = get_object_or_404(get_user_model(), pk=user_id)
        return Response(UserSerializer(user).data)

    def delete(self, request, user_id: int):
        get_object_or_404(get_user_model(), pk=user_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectDetail(ApiView):
    """``GET /api/projects/<id>/`` needs ``read:project:<id>``: a scope per project."""

    permission_classes = [TokenHasScope.require("read:project:{project_id}")]

    def get(self, request, project_id: int):
        return Response({"id": project_id, "name": f"Project {project_id}"})
