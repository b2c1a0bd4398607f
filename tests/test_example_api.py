"""example_project.api: the example's DRF API, through the example project's URLs."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client as HttpClient

from oauthkit.conf import DEFAULTS
from oauthkit.testing.factories import UserFactory
from tests.helpers import bearer, get_code, redeem

pytestmark = [pytest.mark.django_db, pytest.mark.urls("example_project.urls")]

#: The scopes example_project/settings.py adds for its API.
EXAMPLE_SCOPES = [
    "read:users",
    "write:users",
    "delete:users",
    "admin:all",
    "read:project:1",
    "read:project:2",
    "read:project:3",
]


@pytest.fixture(autouse=True)
def example_settings(settings):
    # The example project's URLs import its apps' modules.
    settings.INSTALLED_APPS = [
        *settings.INSTALLED_APPS,
        "example_project.demo",
        "example_project.api",
    ]
    extra = {scope: scope for scope in EXAMPLE_SCOPES}
    settings.OAUTHKIT = {**settings.OAUTHKIT, "SCOPES": {**DEFAULTS["SCOPES"], **extra}}


def assert_insufficient_scope(response, scope: str) -> None:
    # RFC 6750 §3.1
    assert response.status_code == 403, (response.status_code, response.content)
    header = response["WWW-Authenticate"]
    assert header.startswith("Bearer ")
    assert 'error="insufficient_scope"' in header
    assert f'scope="{scope}"' in header


def test_ping_needs_read(client, token):
    assert client.get("/api/ping", **bearer(token("read"))).json() == {"pong": True}
    assert_insufficient_scope(client.get("/api/ping", **bearer(token("read:users"))), "read")
    response = client.get("/api/ping")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert client.get("/api/ping", **bearer("expired-or-made-up")).status_code == 401


def test_open_ping_answers_the_same_without_auth_or_queries(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/api/ping/open")
    assert response.status_code == 200
    assert response.json() == {"pong": True}


def test_ping_costs_one_query_the_revocation_check(client, token, django_assert_num_queries):
    headers = bearer(token("read"))
    client.get("/api/ping", **headers)  # warm the key cache
    with django_assert_num_queries(1):
        assert client.get("/api/ping", **headers).status_code == 200


def test_user_list_and_create(client, token, user):
    response = client.get("/api/users/", **bearer(token("read:users")))
    assert response.json() == [{"id": user.pk, "username": "alice"}]
    assert_insufficient_scope(client.get("/api/users/", **bearer(token("read"))), "read:users")

    created = client.post(
        "/api/users/",
        {"username": "bob"},
        content_type="application/json",
        **bearer(token("write:users")),
    )
    assert created.status_code == 201, created.content
    bob = get_user_model().objects.get(username="bob")
    assert created.json() == {"id": bob.pk, "username": "bob"}
    assert not bob.has_usable_password()

    refused = client.post(
        "/api/users/",
        {"username": "carol"},
        content_type="application/json",
        **bearer(token("read:users")),
    )
    assert_insufficient_scope(refused, "write:users")
    assert not get_user_model().objects.filter(username="carol").exists()


def test_user_list_admin_alternative(client, token, user):
    assert client.get("/api/users/", **bearer(token("admin:all"))).status_code == 200


def test_user_detail_read_and_delete(client, token, user):
    url = f"/api/users/{user.pk}/"
    assert client.get(url, **bearer(token("read:users"))).json()["username"] == "alice"
    assert client.get(url, **bearer(token("admin:all"))).status_code == 200
    assert_insufficient_scope(client.get(url, **bearer(token("write:users"))), "read:users")
    assert_insufficient_scope(client.delete(url, **bearer(token("read:users"))), "delete:users")
    assert get_user_model().objects.filter(pk=user.pk).exists()

    assert client.delete(url, **bearer(token("delete:users"))).status_code == 204
    assert not get_user_model().objects.filter(pk=user.pk).exists()


def test_user_detail_admin_can_delete(client, token):
    victim = UserFactory()
    response = client.delete(f"/api/users/{victim.pk}/", **bearer(token("admin:all")))
    assert response.status_code == 204


def test_project_scope_is_per_project(client, token):
    project_one = bearer(token("read:project:1"))
    assert client.get("/api/projects/1/", **project_one).json() == {
        "id": 1,
        "name": "Project 1",
    }
    assert_insufficient_scope(client.get("/api/projects/2/", **project_one), "read:project:2")


def test_user_token_from_the_code_flow(client, oauth_client, user):
    browser = HttpClient()
    browser.force_login(user)
    code, verifier = get_code(browser, oauth_client, scope="read:users read:project:3")
    access_token = redeem(browser, oauth_client, code, verifier).json()["access_token"]
    assert client.get("/api/projects/3/", **bearer(access_token)).status_code == 200
    assert client.get("/api/users/", **bearer(access_token)).status_code == 200
    assert_insufficient_scope(
        client.delete(f"/api/users/{user.pk}/", **bearer(access_token)), "delete:users"
    )
