"""The OpenAPI schema drf-spectacular builds for views protected by oauthkit.

The permissions here are small test classes implementing the ``openapi_scopes`` protocol
(see ``oauthkit.drf.spectacular``), so these tests do not depend on oauthkit's own
permission classes.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import include, path
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema
from drf_spectacular.validation import validate_schema
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

import oauthkit.drf.spectacular  # noqa: F401  (registers the extension, as users do)
from oauthkit.drf.authentication import OAuth2Authentication

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def requires(*alternatives, **by_method):
    """A permission class implementing the protocol: ``by_method`` first, else ``alternatives``."""

    class Requires(BasePermission):
        def openapi_scopes(self, view, method):
            return by_method.get(method, list(alternatives) or None)

    return Requires


class ReadUsers(BasePermission):
    """The protocol as a classmethod, returning a flat list (read as one alternative)."""

    @classmethod
    def openapi_scopes(cls, view, method):
        return ["read:users"]


class SubclassedAuthentication(OAuth2Authentication):
    pass


def api_view(permissions, methods=("get",), authentication=OAuth2Authentication):
    """A throwaway APIView with these permissions; each method answers nothing."""

    def handler(self, request, **kwargs):
        return Response()

    attrs = {
        "authentication_classes": [authentication],
        "permission_classes": permissions,
        "schema": AutoSchema(),
        **dict.fromkeys(methods, handler),
    }
    view = extend_schema(request=None, responses=None)(type("View", (APIView,), attrs))
    return view.as_view()


api_patterns = [
    path(
        "users",
        api_view(
            [requires(GET=[["read:users"], ["admin:all"]], DELETE=[["delete:users"]])],
            methods=("get", "post", "delete"),
        ),
    ),
    path("projects/<int:project_id>", api_view([requires(["read:project:{project_id}"])])),
    path("reports", api_view([(requires(["a"]) & requires(["b"])) | requires(["admin:all"])])),
    path("mixed", api_view([IsAuthenticated | requires(["read"])])),
    path("negated", api_view([~requires(["x"]), requires(["y"])])),
    path("listed", api_view([requires(["a"], ["b"]), requires(["c"])])),
    path("session", api_view([IsAuthenticated])),
    path("classmethod", api_view([ReadUsers])),
]
urlpatterns = [
    *api_patterns,
    path("o/", include("oauthkit.provider.urls")),
    path(".well-known/", include("oauthkit.provider.well_known_urls")),
]


@pytest.fixture
def schema():
    def build(patterns=api_patterns):
        document = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
        validate_schema(document)  # a valid OpenAPI 3 document
        return document

    return build


def security(document, path_, method="get"):
    return document["paths"][path_][method]["security"]


def test_security_scheme_has_the_local_providers_flows_and_scopes(schema, settings):
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "SCOPES": {"read:users": "Read users", "admin:all": "Everything"},
    }
    scheme = schema()["components"]["securitySchemes"]["oauth2"]
    scopes = {"read:users": "Read users", "admin:all": "Everything"}
    assert scheme == {
        "type": "oauth2",
        "flows": {
            "authorizationCode": {
                "authorizationUrl": "https://testserver/o/authorize/",
                "tokenUrl": "https://testserver/o/token/",
                "refreshUrl": "https://testserver/o/token/",
                "scopes": scopes,
            },
            "clientCredentials": {"tokenUrl": "https://testserver/o/token/", "scopes": scopes},
        },
    }


def test_flows_follow_the_enabled_grants(schema, settings):
    # RFC 8414 §2 grant_types_supported is read from the grant registry: no drift.
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "GRANT_TYPES": ["oauthkit.provider.grants.client_credentials.ClientCredentialsGrant"],
    }
    flows = schema()["components"]["securitySchemes"]["oauth2"]["flows"]
    assert list(flows) == ["clientCredentials"]


def test_per_method_alternatives(schema):
    document = schema()
    assert security(document, "/users") == [{"oauth2": ["read:users"]}, {"oauth2": ["admin:all"]}]
    assert security(document, "/users", "delete") == [{"oauth2": ["delete:users"]}]
    # No requirement for POST: a token is needed, no particular scope.
    assert security(document, "/users", "post") == [{"oauth2": []}]


def test_dynamic_scope_stays_templated(schema):
    document = schema()
    assert security(document, "/projects/{project_id}") == [
        {"oauth2": ["read:project:{project_id}"]}
    ]


def test_composed_and_or(schema):
    assert security(schema(), "/reports") == [{"oauth2": ["a", "b"]}, {"oauth2": ["admin:all"]}]


def test_or_with_a_non_scope_permission_adds_a_no_scope_alternative(schema):
    # IsAuthenticated lets any token of a user through: "no particular scope" is an option.
    assert security(schema(), "/mixed") == [{"oauth2": []}, {"oauth2": ["read"]}]


def test_not_adds_no_scope_requirement(schema):
    assert security(schema(), "/negated") == [{"oauth2": ["y"]}]


def test_permission_classes_of_a_view_combine_with_and(schema):
    assert security(schema(), "/listed") == [{"oauth2": ["a", "c"]}, {"oauth2": ["b", "c"]}]


def test_no_scope_permission_still_requires_a_token(schema):
    assert security(schema(), "/session") == [{"oauth2": []}]


def test_classmethod_protocol(schema):
    assert security(schema(), "/classmethod") == [{"oauth2": ["read:users"]}]


def test_subclass_of_the_authentication_gets_the_scheme(schema):
    view = api_view([requires(["read"])], authentication=SubclassedAuthentication)
    document = schema([path("sub", view)])
    assert document["components"]["securitySchemes"]["oauth2"]["type"] == "oauth2"
    assert security(document, "/sub") == [{"oauth2": ["read"]}]


@pytest.fixture
def remote_provider():
    """A stand-in provider on 127.0.0.1 serving an RFC 8414 metadata document."""
    documents = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(documents[self.path]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    issuer = f"http://127.0.0.1:{server.server_port}"
    yield issuer, documents
    server.shutdown()
    server.server_close()
    thread.join()


def test_remote_mode_reads_the_providers_metadata(schema, settings, remote_provider):
    issuer, documents = remote_provider
    documents["/.well-known/oauth-authorization-server"] = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/auth/authorize",
        "token_endpoint": f"{issuer}/auth/token",
        "grant_types_supported": ["authorization_code"],
    }
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "SCOPES": {"read": "Read"},
        "RESOURCE_SERVER": {"MODE": "remote", "ISSUER": issuer},
    }
    flows = schema()["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows == {
        "authorizationCode": {
            "authorizationUrl": f"{issuer}/auth/authorize",
            "tokenUrl": f"{issuer}/auth/token",
            "scopes": {"read": "Read"},
        }
    }
