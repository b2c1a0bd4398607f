"""The shared revocation list (oauthkit.revocation) in Redis, seen by a second process.

Runs only when REDIS_URL is set (tests/settings.py then defines the "shared" cache alias).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import caches

from oauthkit.revocation import KEY_PREFIX, MARGIN_SECONDS
from tests.resource.helpers import (
    ECHO,
    assert_invalid_token,
    bearer,
    cc_token,
    configure,
    payload_of,
    revoke,
)

REDIS_URL = os.environ.get("REDIS_URL")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.urls("tests.resource.api"),
    pytest.mark.skipif(
        not REDIS_URL,
        reason="needs Redis: set REDIS_URL (make test does when Redis answers on 127.0.0.1)",
    ),
]

# The API's side in another process: the same settings, asked only through is_revoked().
SECOND_PROCESS = """
import sys

import django

django.setup()

from django.conf import settings
from django.test.utils import override_settings

from oauthkit.revocation import is_revoked

resource_server = {"REVOCATION_CHECK": "cache", "CACHE": "shared"}
with override_settings(OAUTHKIT={**settings.OAUTHKIT, "RESOURCE_SERVER": resource_server}):
    print(is_revoked(sys.argv[1]))
"""


def revoked_in_second_process(jti: str) -> bool:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "REDIS_URL": REDIS_URL}
    result = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS, jti],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return {"True": True, "False": False}[result.stdout.strip()]


@pytest.fixture
def shared(settings):
    """Provider and API share the Redis cache; the test's keys are deleted afterwards."""
    configure(
        settings,
        {"REVOCATION_CHECK": "cache", "CACHE": "shared"},
        REVOCATION_CACHE="shared",
    )
    jtis: list[str] = []
    yield jtis
    caches["shared"].delete_many([KEY_PREFIX + jti for jti in jtis])


def test_revocation_is_seen_by_a_second_process(client, oauth_client, shared):
    token = cc_token(client, oauth_client)
    jti = payload_of(token)["jti"]
    shared.append(jti)
    assert client.get(ECHO, **bearer(token)).status_code == 200
    assert revoked_in_second_process(jti) is False

    revoke(client, oauth_client, token)

    assert revoked_in_second_process(jti) is True
    assert_invalid_token(client.get(ECHO, **bearer(token)))


def test_revocation_entry_expires_with_the_token(client, oauth_client, shared):
    import redis

    token = cc_token(client, oauth_client)
    claims = payload_of(token)
    shared.append(claims["jti"])

    revoke(client, oauth_client, token)

    # The list never outgrows the live revoked tokens: each entry lives as long as its
    # token, plus a margin for clock skew.
    cache = caches["shared"]
    key = cache.make_and_validate_key(KEY_PREFIX + claims["jti"])
    ttl = redis.Redis.from_url(REDIS_URL).ttl(key)
    lifetime = claims["exp"] - claims["iat"]
    assert lifetime < ttl <= lifetime + MARGIN_SECONDS
