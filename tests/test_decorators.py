"""``scope_required`` and ``ScopeRequiredMixin``: plain Django views with the DRF rules."""

import re
import socket

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import JsonResponse
from django.test import Client as HttpClient
from django.urls import include, path
from django.views import View

from oauthkit.conf import DEFAULTS
from oauthkit.decorators import ScopeRequiredMixin, scope_required
from oauthkit.testing.factories import UserFactory
from tests.helpers import bearer, get_code, redeem

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

API_SCOPES = ["read:users", "write:users", "delete:users", "admin:all", "read:project:1"]
USER_METHODS = {"GET": [["read:users"], ["admin:all"]], "DELETE": [["delete:users"]]}


def echo(request, **kwargs):
    return JsonResponse({"method": request.method, "client_id": request.auth.client_id})


def whoami(request):
    return JsonResponse({"user": str(request.user)})


class UsersView(ScopeRequiredMixin, View):
    required_scopes = ["read:users"]

    def get(self, request):
        return JsonResponse({"scopes": sorted(request.auth.scopes)})

    post = get


class ProjectView(ScopeRequiredMixin, View):
    required_scopes = ["read:project:{project_id}"]

    def get(self, request, project_id):
        return JsonResponse({"project": project_id})


class MethodsView(ScopeRequiredMixin, View):
    required_alternate_scopes = USER_METHODS

    def get(self, request):
        return JsonResponse({"method": request.method})

    delete = post = get


class UnsetView(ScopeRequiredMixin, View):
    def get(self, request):
        return JsonResponse({})


urlpatterns = [
    path("o/", include("oauthkit.provider.urls")),
    path("all", scope_required("read:users", "write:users")(echo)),
    path("any", scope_required(any_of=["read:users", "admin:all"])(echo)),
    path("methods", scope_required(USER_METHODS)(echo)),
    path("projects/<int:project_id>", scope_required("read:project:{project_id}")(echo)),
    path("no-kwarg", scope_required("read:project:{project_id}")(echo)),
    path("token", scope_required()(echo)),
    path("lazy", scope_required("read")(echo)),
    path("whoami", scope_required("read")(whoami)),
    path("cbv/users", UsersView.as_view()),
    path("cbv/projects/<int:project_id>", ProjectView.as_view()),
    path("cbv/methods", MethodsView.as_view()),
    path("cbv/unset", UnsetView.as_view()),
]


@pytest.fixture(autouse=True)
def api_scopes(settings):
    extra = {scope: scope for scope in API_SCOPES}
    settings.OAUTHKIT = {**settings.OAUTHKIT, "SCOPES": {**DEFAULTS["SCOPES"], **extra}}


def challenge(response) -> dict[str, str]:
    scheme, _, params = response["WWW-Authenticate"].partition(" ")
    assert scheme == "Bearer"
    return dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', params))


def assert_insufficient_scope(response, scope: str) -> None:
    # RFC 6750 §3.1: 403 insufficient_scope with the scope that would be enough.
    assert response.status_code == 403, (response.status_code, response.content)
    assert response.json()["error"] == "insufficient_scope"
    assert challenge(response) == {
        "realm": "api",
        "error": "insufficient_scope",
        "error_description": response.json()["error_description"],
        "scope": scope,
    }


def test_every_scope_is_needed(client, token, oauth_client):
    response = client.get("/all", **bearer(token("read:users write:users")))
    assert response.json() == {"method": "GET", "client_id": oauth_client.client_id}
    assert_insufficient_scope(
        client.get("/all", **bearer(token("read:users"))), "read:users write:users"
    )


def test_no_token_is_401_with_a_bare_challenge(client):
    response = client.get("/all")
    # RFC 6750 §3.1: no error code when no credentials were sent.
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_session_is_not_a_token(client):
    client.force_login(UserFactory())
    assert client.get("/token").status_code == 401


def test_bad_token_is_401_invalid_token(client):
    response = client.get("/all", **bearer("not-a-token"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert challenge(response)["error"] == "invalid_token"


def test_malformed_authorization_is_400_invalid_request(client):
    response = client.get("/all", HTTP_AUTHORIZATION="Bearer two words")
    # RFC 6750 §3.1: invalid_request is a 400.
    assert response.status_code == 400
    assert challenge(response)["error"] == "invalid_request"


@pytest.mark.parametrize("scope", ["read:users", "admin:all"])
def test_any_of(client, token, scope):
    assert client.get("/any", **bearer(token(scope))).status_code == 200


def test_any_of_refusal_names_the_first(client, token):
    assert_insufficient_scope(client.get("/any", **bearer(token("write:users"))), "read:users")


def test_per_method_alternatives(client, token):
    assert client.get("/methods", **bearer(token("admin:all"))).status_code == 200
    assert client.delete("/methods", **bearer(token("delete:users"))).status_code == 200
    assert_insufficient_scope(
        client.delete("/methods", **bearer(token("admin:all"))), "delete:users"
    )
    # Not listed: refused whatever the token holds, and no scope is named.
    response = client.post("/methods", **bearer(token(" ".join(API_SCOPES))))
    assert response.status_code == 403
    assert "WWW-Authenticate" not in response


def test_dynamic_scope_from_url_kwargs(client, token):
    project_one = bearer(token("read:project:1"))
    assert client.get("/projects/1", **project_one).status_code == 200
    assert_insufficient_scope(client.get("/projects/2", **project_one), "read:project:2")
    with pytest.raises(ImproperlyConfigured, match="project_id"):
        client.get("/no-kwarg", **project_one)


def test_provider_unreachable_is_503(client, token, settings):
    jwt = token("read")
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "RESOURCE_SERVER": {"MODE": "remote", "ISSUER": f"http://127.0.0.1:{port}"},
    }
    response = client.get("/token", **bearer(jwt))
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"


def test_user_is_the_tokens_user_loaded_lazily(
    client, user, oauth_client, django_assert_num_queries
):
    browser = HttpClient()
    browser.force_login(user)
    code, verifier = get_code(browser, oauth_client, scope="read")
    headers = bearer(redeem(browser, oauth_client, code, verifier).json()["access_token"])
    client.get("/lazy", **headers)  # warm the key cache
    # One query: the revocation check by jti. The user is loaded only when used.
    with django_assert_num_queries(1):
        assert client.get("/lazy", **headers).status_code == 200
    with django_assert_num_queries(2):
        assert client.get("/whoami", **headers).json() == {"user": "alice"}


def test_views_with_a_token_need_no_csrf_token(token):
    # Bearer tokens are not ambient credentials: CSRF does not apply.
    strict = HttpClient(enforce_csrf_checks=True)
    users = bearer(token("read:users write:users"))
    assert strict.post("/all", **users).status_code == 200
    assert strict.post("/cbv/users", **users).status_code == 200


def test_mixin_required_scopes(client, token):
    response = client.get("/cbv/users", **bearer(token("read:users admin:all")))
    assert response.json() == {"scopes": ["admin:all", "read:users"]}
    assert_insufficient_scope(client.get("/cbv/users", **bearer(token("read"))), "read:users")
    assert client.get("/cbv/users").status_code == 401
    assert client.get("/cbv/users", **bearer("nope")).status_code == 401


def test_mixin_dynamic_and_per_method(client, token):
    project_one = bearer(token("read:project:1"))
    assert client.get("/cbv/projects/1", **project_one).json() == {"project": 1}
    assert_insufficient_scope(client.get("/cbv/projects/2", **project_one), "read:project:2")
    assert client.get("/cbv/methods", **bearer(token("read:users"))).status_code == 200
    assert_insufficient_scope(
        client.delete("/cbv/methods", **bearer(token("read:users"))), "delete:users"
    )
    assert client.post("/cbv/methods", **bearer(token(" ".join(API_SCOPES)))).status_code == 403


def test_mixin_without_scopes_is_a_configuration_error(client, token):
    with pytest.raises(ImproperlyConfigured, match="required_scopes"):
        client.get("/cbv/unset", **bearer(token("read")))


def test_misuse_fails_at_declaration():
    with pytest.raises(TypeError):
        scope_required(echo)
    with pytest.raises(ImproperlyConfigured):
        scope_required("read", any_of=["write"])
    with pytest.raises(ImproperlyConfigured):
        scope_required({"GET": ["read:users", "admin:all"]})
    with pytest.raises(ImproperlyConfigured):
        scope_required(any_of="read")
