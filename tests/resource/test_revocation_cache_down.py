"""An unreachable revocation cache fails closed with 503, never 500 or an accepted token."""

import pytest

from tests.resource.helpers import ECHO, bearer, cc_token, configure

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.resource.api")]


def test_unreachable_revocation_cache_is_503(client, oauth_client, settings):
    token = cc_token(client, oauth_client)
    settings.CACHES = {
        **settings.CACHES,
        # Nothing listens on port 9 of the loopback interface.
        "down": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 1},
        },
    }
    configure(settings, {"REVOCATION_CHECK": "cache", "CACHE": "down"})

    response = client.get(ECHO, **bearer(token))

    assert response.status_code == 503
