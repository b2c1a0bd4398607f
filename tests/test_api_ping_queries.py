"""SQL per request of the example API's GET /api/ping (issue 4, "Speed").

With a JWT access token and the cache-based revocation check the request needs no SQL at
all; with the default database check, one query (the token's row by jti). benchmarks/
measures the same two figures (and the throughput) against the example project.
"""

from datetime import timedelta

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.helpers import basic_auth, post_form

pytestmark = [pytest.mark.django_db, pytest.mark.urls("example_project.urls")]

#: A local-memory cache stands in for the example project's shared Redis ("shared").
REVOCATION_CACHE = "revocation-list"
#: Read the revocation list on every request (the default trusts a "not revoked"
#: answer for a second: tests/resource/test_revocation_interval.py).
IMMEDIATE = {"REVOCATION_CHECK_INTERVAL": timedelta(0)}


@pytest.fixture(autouse=True)
def example_apps(settings):
    # The example project's URLs import its apps' modules.
    settings.INSTALLED_APPS = [
        *settings.INSTALLED_APPS,
        "example_project.demo",
        "example_project.api",
    ]


@pytest.fixture
def cache_check(settings):
    """The provider writes the revocation list to a cache; the API reads it there."""
    settings.CACHES = {
        **settings.CACHES,
        REVOCATION_CACHE: {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "test-api-ping-queries",
        },
    }
    resource = settings.OAUTHKIT.get("RESOURCE_SERVER", {})
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "REVOCATION_CACHE": REVOCATION_CACHE,
        "RESOURCE_SERVER": {
            **resource,
            "REVOCATION_CHECK": "cache",
            "CACHE": REVOCATION_CACHE,
            **IMMEDIATE,
        },
    }
    caches[REVOCATION_CACHE].clear()


@pytest.fixture
def access_token(client, oauth_client) -> str:
    """A JWT access token with scope read, from the token endpoint (client_credentials)."""
    data = {"grant_type": "client_credentials", "scope": "read"}
    response = post_form(client, reverse("oauthkit:token"), data, **basic_auth(oauth_client))
    assert response.status_code == 200, response.content
    token = response.json()["access_token"]
    assert token.count(".") == 2  # a JWT (RFC 9068), the default format
    return token


def ping(client, token: str):
    return client.get("/api/ping", HTTP_AUTHORIZATION=f"Bearer {token}")


def revoke(client, oauth_client, token: str) -> None:
    # RFC 7009 §2.2: 200 whether or not the token was known.
    data = {"token": token, "token_type_hint": "access_token"}
    response = post_form(client, reverse("oauthkit:revocation"), data, **basic_auth(oauth_client))
    assert response.status_code == 200


def test_cache_check_needs_no_sql(
    client, oauth_client, access_token, cache_check, django_assert_num_queries
):
    assert ping(client, access_token).status_code == 200  # warm the process's key cache
    with django_assert_num_queries(0):
        response = ping(client, access_token)
    assert response.status_code == 200
    assert response.json() == {"pong": True}

    # The check does run, from the cache alone: a revoked token is refused without SQL.
    revoke(client, oauth_client, access_token)
    with django_assert_num_queries(0):
        response = ping(client, access_token)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]  # RFC 6750 §3.1


def test_database_check_is_one_query(client, oauth_client, access_token, settings):
    resource = settings.OAUTHKIT.get("RESOURCE_SERVER", {})
    # The default check, set explicitly.
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "RESOURCE_SERVER": {**resource, "REVOCATION_CHECK": "database"},
    }
    assert ping(client, access_token).status_code == 200  # warm the process's key cache
    with CaptureQueriesContext(connection) as captured:
        response = ping(client, access_token)
    assert response.status_code == 200
    assert len(captured.captured_queries) == 1
    assert "oauthkit_provider_accesstoken" in captured.captured_queries[0]["sql"]

    revoke(client, oauth_client, access_token)
    with CaptureQueriesContext(connection) as captured:
        response = ping(client, access_token)
    assert response.status_code == 401
    assert len(captured.captured_queries) == 1
