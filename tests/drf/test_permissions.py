"""Scope permissions for DRF views, driven with tokens from the real token endpoint."""

import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client as HttpClient
from django.urls import include, path
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, BasePermission, IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from oauthkit.conf import DEFAULTS
from oauthkit.drf import (
    InsufficientScope,
    IsAuthenticatedOrTokenHasScope,
    OAuth2Authentication,
    TokenHasAnyScope,
    TokenHasReadWriteScope,
    TokenHasResourceScope,
    TokenHasScope,
    TokenMatchesScopes,
)
from oauthkit.testing.factories import UserFactory
from tests.helpers import bearer, get_code, redeem

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

API_SCOPES = ["read:users", "write:users", "delete:users", "admin:all"]
PROJECT_SCOPES = ["read:project:1", "read:project:2"]


class Echo(APIView):
    authentication_classes = [OAuth2Authentication]

    def get(self, request, **kwargs):
        return Response({"method": request.method})

    post = put = patch = delete = get


class WhoAmI(Echo):
    def get(self, request, **kwargs):
        return Response({"user": str(request.user)})


class ObjectCheck(Echo):
    """Runs the object-level check as a detail view's get_object() does."""

    def get(self, request, **kwargs):
        self.check_object_permissions(request, object())
        return Response({"object": "ok"})


def view(*permission_classes, base=Echo, **attrs):
    attrs["permission_classes"] = list(permission_classes)
    return type("View", (base,), attrs).as_view()


READ_USERS = TokenHasScope.require("read:users")
WRITE_USERS = TokenHasScope.require("write:users")
ADMIN = TokenHasScope.require("admin:all")
SESSION_OR_TOKEN = [OAuth2Authentication, SessionAuthentication]
USER_METHODS = {"GET": [["read:users"], ["admin:all"]], "DELETE": [["delete:users"]]}

urlpatterns = [
    path("o/", include("oauthkit.provider.urls")),
    path("scope", view(TokenHasScope, required_scopes=["read:users", "write:users"])),
    path("scope/required", view(READ_USERS)),
    path("scope/unset", view(TokenHasScope)),
    path("any", view(TokenHasAnyScope, required_scopes=["read:users", "admin:all"])),
    path("any/required", view(TokenHasAnyScope.require("write:users", "admin:all"))),
    path("rw", view(TokenHasReadWriteScope)),
    path("rw/extra", view(TokenHasReadWriteScope, required_scopes=["admin:all"])),
    path("rw/required", view(TokenHasReadWriteScope.require("admin:all"))),
    path("resource", view(TokenHasResourceScope, resource_name="users")),
    path("resource/required", view(TokenHasResourceScope.require(resource="users"))),
    path("resource/unset", view(TokenHasResourceScope)),
    path(
        "session-or-token",
        view(
            IsAuthenticatedOrTokenHasScope,
            required_scopes=["read:users"],
            authentication_classes=SESSION_OR_TOKEN,
        ),
    ),
    path("methods", view(TokenMatchesScopes.require(USER_METHODS))),
    path("methods/attr", view(TokenMatchesScopes, required_alternate_scopes=USER_METHODS)),
    path("projects/<int:project_id>", view(TokenHasScope.require("read:project:{project_id}"))),
    path("no-kwarg", view(TokenHasScope.require("read:project:{project_id}"))),
    path("and", view(READ_USERS & WRITE_USERS)),
    path("or", view(READ_USERS | ADMIN)),
    path("not", view(~ADMIN)),
    path("not-or", view(~ADMIN | READ_USERS)),
    path("not/object", view(~ADMIN, base=ObjectCheck)),
    path("drf-or", view(IsAdminUser | READ_USERS, authentication_classes=SESSION_OR_TOKEN)),
    path("drf-left", view((AllowAny | IsAdminUser) & READ_USERS)),
    path("lazy", view(TokenHasScope.require("read"))),
    path("whoami", view(TokenHasScope.require("read"), base=WhoAmI)),
]


@pytest.fixture(autouse=True)
def api_scopes(settings):
    """The provider refuses unknown scopes: register the ones these views use."""
    extra = {scope: scope for scope in API_SCOPES + PROJECT_SCOPES}
    settings.OAUTHKIT = {**settings.OAUTHKIT, "SCOPES": {**DEFAULTS["SCOPES"], **extra}}


@pytest.fixture
def user_token(oauth_client):
    """``user_token(user, "a b")``: a user's access token from the authorization code flow."""

    def issue(user, scope: str) -> str:
        browser = HttpClient()
        browser.force_login(user)
        code, verifier = get_code(browser, oauth_client, scope=scope)
        response = redeem(browser, oauth_client, code, verifier)
        assert response.status_code == 200, response.content
        return response.json()["access_token"]

    return issue


def challenge(response) -> dict[str, str]:
    """The auth-params of a ``WWW-Authenticate: Bearer ...`` header."""
    scheme, _, params = response["WWW-Authenticate"].partition(" ")
    assert scheme == "Bearer"
    return dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', params))


def assert_insufficient_scope(response, scope: str) -> None:
    # RFC 6750 §3.1: 403 insufficient_scope, naming scopes that would be enough.
    assert response.status_code == 403, (response.status_code, response.content)
    params = challenge(response)
    assert params["error"] == "insufficient_scope"
    assert params["scope"] == scope
    assert params["realm"] == "api"


def assert_plain_403(response) -> None:
    """Refused, and no scope would help: no insufficient_scope challenge."""
    assert response.status_code == 403, (response.status_code, response.content)
    assert "WWW-Authenticate" not in response


# --- TokenHasScope ---------------------------------------------------------------------------


def test_token_has_scope_needs_every_scope(client, token):
    both = token("read:users write:users")
    assert client.get("/scope", **bearer(both)).status_code == 200

    response = client.get("/scope", **bearer(token("read:users admin:all")))
    assert_insufficient_scope(response, "read:users write:users")
    assert response.json()["detail"]


def test_no_token_is_401_with_a_bare_challenge(client):
    response = client.get("/scope")
    # RFC 6750 §3.1: no error code when the request carried no credentials.
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_bad_token_is_401_invalid_token(client):
    response = client.get("/scope", **bearer("not-a-token"))
    assert response.status_code == 401
    assert challenge(response)["error"] == "invalid_token"


def test_require_makes_a_subclass_without_view_attributes(client, token):
    assert issubclass(READ_USERS, TokenHasScope)
    assert issubclass(READ_USERS, BasePermission)
    assert TokenHasScope.requirement is None  # the base class is left alone

    assert client.get("/scope/required", **bearer(token("read:users"))).status_code == 200
    assert_insufficient_scope(
        client.get("/scope/required", **bearer(token("write:users"))), "read:users"
    )


def test_missing_required_scopes_is_a_configuration_error(client, token):
    with pytest.raises(ImproperlyConfigured, match="required_scopes"):
        client.get("/scope/unset", **bearer(token("read")))


@pytest.mark.parametrize(
    "make",
    [
        lambda: TokenHasScope.require("read users"),
        lambda: TokenHasScope.require("read:project:{0}"),
        lambda: TokenHasScope.require("read:project:{project.pk}"),
        lambda: TokenHasAnyScope.require(),
        lambda: TokenHasResourceScope.require(resource="my users"),
        lambda: TokenMatchesScopes.require({"GET": ["read:users", "admin:all"]}),
        lambda: TokenMatchesScopes.require({}),
    ],
)
def test_malformed_requirements_fail_when_declared(make):
    with pytest.raises(ImproperlyConfigured):
        make()


# --- TokenHasAnyScope ------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["read:users", "admin:all", "read admin:all"])
def test_token_has_any_scope_passes_with_one(client, token, scope):
    assert client.get("/any", **bearer(token(scope))).status_code == 200


def test_token_has_any_scope_refuses_none_naming_the_first(client, token):
    assert_insufficient_scope(client.get("/any", **bearer(token("write:users"))), "read:users")
    any_required = client.get("/any/required", **bearer(token("read:users")))
    assert_insufficient_scope(any_required, "write:users")
    assert client.get("/any/required", **bearer(token("admin:all"))).status_code == 200


# --- TokenHasReadWriteScope ------------------------------------------------------------------


def test_read_write_scope_by_method(client, token):
    read, write = bearer(token("read")), bearer(token("write"))
    assert client.get("/rw", **read).status_code == 200
    assert client.head("/rw", **read).status_code == 200
    assert_insufficient_scope(client.post("/rw", **read), "write")
    assert_insufficient_scope(client.delete("/rw", **read), "write")
    assert client.post("/rw", **write).status_code == 200
    assert client.patch("/rw", **write).status_code == 200
    assert_insufficient_scope(client.get("/rw", **write), "read")


def test_read_write_scope_names_come_from_settings(client, token, settings):
    # Read at request time, not at import: the settings fixture takes effect at once.
    users = bearer(token("read:users"))
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "RESOURCE_SERVER": {"READ_SCOPE": "read:users", "WRITE_SCOPE": "write:users"},
    }
    assert client.get("/rw", **users).status_code == 200
    assert_insufficient_scope(client.put("/rw", **users), "write:users")


def test_read_write_scope_adds_the_view_scopes(client, token):
    assert_insufficient_scope(client.get("/rw/extra", **bearer(token("read"))), "read admin:all")
    assert client.get("/rw/extra", **bearer(token("read admin:all"))).status_code == 200
    assert_insufficient_scope(
        client.post("/rw/required", **bearer(token("write"))), "write admin:all"
    )
    assert client.post("/rw/required", **bearer(token("write admin:all"))).status_code == 200


# --- TokenHasResourceScope -------------------------------------------------------------------

RESOURCE_METHODS = [
    ("get", "read:users"),
    ("head", "read:users"),
    ("options", "read:users"),
    ("post", "write:users"),
    ("put", "write:users"),
    ("patch", "write:users"),
    ("delete", "delete:users"),
]


@pytest.mark.parametrize("url", ["/resource", "/resource/required"])
@pytest.mark.parametrize("method,needed", RESOURCE_METHODS)
def test_resource_scope_by_method(client, token, url, method, needed):
    send = getattr(client, method)
    assert send(url, **bearer(token(needed))).status_code == 200
    others = " ".join(s for s in ["read:users", "write:users", "delete:users"] if s != needed)
    assert_insufficient_scope(send(url, **bearer(token(others))), needed)


def test_resource_scope_without_a_resource_name_is_a_configuration_error(client, token):
    with pytest.raises(ImproperlyConfigured, match="resource_name"):
        client.get("/resource/unset", **bearer(token("read:users")))


# --- IsAuthenticatedOrTokenHasScope ----------------------------------------------------------


def test_session_users_pass_without_scopes(client):
    client.force_login(UserFactory())
    assert client.get("/session-or-token").status_code == 200


def test_token_users_need_the_scope(client, token, user, user_token):
    assert client.get("/session-or-token", **bearer(token("read:users"))).status_code == 200
    user_headers = bearer(user_token(user, "read:users"))
    assert client.get("/session-or-token", **user_headers).status_code == 200
    assert_insufficient_scope(
        client.get("/session-or-token", **bearer(user_token(user, "read"))), "read:users"
    )


def test_a_token_is_checked_even_with_a_session(client, token):
    # A request with a token is a token request: its scopes decide, not the session.
    client.force_login(UserFactory())
    response = client.get("/session-or-token", **bearer(token("read")))
    assert_insufficient_scope(response, "read:users")


def test_anonymous_without_token_is_401(client):
    response = client.get("/session-or-token")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


# --- Per-method alternatives -----------------------------------------------------------------


@pytest.mark.parametrize("url", ["/methods", "/methods/attr"])
def test_per_method_alternatives(client, token, url):
    assert client.get(url, **bearer(token("read:users"))).status_code == 200
    assert client.get(url, **bearer(token("admin:all"))).status_code == 200
    assert_insufficient_scope(client.get(url, **bearer(token("write:users"))), "read:users")
    assert client.delete(url, **bearer(token("delete:users"))).status_code == 200
    # admin:all is an alternative for GET only.
    assert_insufficient_scope(client.delete(url, **bearer(token("admin:all"))), "delete:users")


def test_a_method_not_listed_is_refused_whatever_the_scopes(client, token):
    everything = bearer(token(" ".join(API_SCOPES)))
    assert_plain_403(client.post("/methods", **everything))
    assert_plain_403(client.head("/methods", **everything))


# --- Dynamic scopes from URL kwargs ----------------------------------------------------------


def test_dynamic_scope_is_built_from_the_url(client, token):
    project_one = bearer(token("read:project:1"))
    assert client.get("/projects/1", **project_one).status_code == 200
    assert_insufficient_scope(client.get("/projects/2", **project_one), "read:project:2")


def test_dynamic_scope_with_a_missing_kwarg_says_which(client, token):
    with pytest.raises(ImproperlyConfigured, match="project_id"):
        client.get("/no-kwarg", **bearer(token("read:project:1")))


# --- Composition -----------------------------------------------------------------------------


def test_and_needs_both(client, token):
    assert client.get("/and", **bearer(token("read:users write:users"))).status_code == 200
    assert_insufficient_scope(client.get("/and", **bearer(token("read:users"))), "write:users")
    assert_insufficient_scope(client.get("/and", **bearer(token("write:users"))), "read:users")


def test_or_tries_the_second_after_a_refusal(client, token):
    # The left operand refuses for scope; that must not stop the right one from allowing.
    assert client.get("/or", **bearer(token("admin:all"))).status_code == 200
    assert client.get("/or", **bearer(token("read:users"))).status_code == 200
    assert_insufficient_scope(client.get("/or", **bearer(token("read"))), "read:users")
    assert client.get("/or").status_code == 401


def test_not_inverts_without_a_scope_challenge(client, token):
    assert client.get("/not", **bearer(token("read"))).status_code == 200
    assert_plain_403(client.get("/not", **bearer(token("admin:all"))))
    assert client.get("/not-or", **bearer(token("admin:all read:users"))).status_code == 200
    assert_insufficient_scope(client.get("/not-or", **bearer(token("admin:all"))), "read:users")


def test_not_does_not_refuse_every_object(client, token):
    assert client.get("/not/object", **bearer(token("read"))).json() == {"object": "ok"}
    assert_plain_403(client.get("/not/object", **bearer(token("admin:all"))))


def test_composition_with_drf_classes(client, token):
    # IsAdminUser | ours: our reflected operator builds the composite.
    assert issubclass(IsAdminUser | READ_USERS, BasePermission)
    assert client.get("/drf-or", **bearer(token("read:users"))).status_code == 200
    assert_insufficient_scope(client.get("/drf-or", **bearer(token("read"))), "read:users")
    client.force_login(UserFactory(is_staff=True))
    assert client.get("/drf-or").status_code == 200


def test_a_drf_expression_on_the_left_still_gets_the_challenge(client, token):
    assert client.get("/drf-left", **bearer(token("read:users"))).status_code == 200
    assert_insufficient_scope(client.get("/drf-left", **bearer(token("read"))), "read:users")


def test_insufficient_scope_works_with_drfs_default_exception_handler():
    # The header rides on ``auth_header``, which rest_framework.views.exception_handler sends.
    from rest_framework.views import exception_handler

    response = exception_handler(InsufficientScope("read:users"), {})
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert 'scope="read:users"' in response["WWW-Authenticate"]


# --- request.user --------------------------------------------------------------------------


def test_the_user_is_loaded_only_when_used(client, user, user_token, django_assert_num_queries):
    headers = bearer(user_token(user, "read"))
    client.get("/lazy", **headers)  # warm the key cache
    # The revocation check by jti is the one query; the user is never loaded.
    with django_assert_num_queries(1):
        assert client.get("/lazy", **headers).status_code == 200
    with django_assert_num_queries(2):
        assert client.get("/whoami", **headers).json() == {"user": "alice"}


# --- drf-spectacular -------------------------------------------------------------------------


def test_openapi_scopes_describe_each_operation():
    # oauthkit.drf.spectacular reads these to list each operation's scopes in the schema.
    from oauthkit.drf.spectacular import view_scopes

    def scopes(permission, method, **attrs):
        return view_scopes(
            type("V", (Echo,), {"permission_classes": [permission], **attrs})(), method
        )

    assert scopes(READ_USERS | ADMIN, "GET") == [["read:users"], ["admin:all"]]
    assert scopes(READ_USERS & WRITE_USERS, "GET") == [["read:users", "write:users"]]
    assert scopes(~ADMIN, "GET") is None
    assert scopes(TokenMatchesScopes.require(USER_METHODS), "GET") == USER_METHODS["GET"]
    assert scopes(TokenMatchesScopes.require(USER_METHODS), "POST") is None
    assert scopes(TokenHasResourceScope, "PATCH", resource_name="users") == [["write:users"]]
    assert scopes(TokenHasAnyScope.require("a", "b"), "GET") == [["a"], ["b"]]
    assert scopes(TokenHasReadWriteScope.require("admin:all"), "PUT") == [["write", "admin:all"]]
    project = TokenHasScope.require("read:project:{project_id}")
    assert scopes(project, "GET") == [["read:project:{project_id}"]]
