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


def test_revoking_while_the_cache_is_down_still_revokes(client, oauth_client, settings):
    from oauthkit.provider.models import AccessToken
    from tests.helpers import basic_auth, post_form

    token = cc_token(client, oauth_client)
    settings.CACHES = {
        **settings.CACHES,
        "down": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 1},
        },
    }
    configure(settings, REVOCATION_CACHE="down")

    response = post_form(client, "/o/revoke/", {"token": token}, **basic_auth(oauth_client))

    assert response.status_code == 200
    assert AccessToken.objects.get().revoked_at is not None
