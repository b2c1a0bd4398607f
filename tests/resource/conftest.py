import pytest
from django.core.cache import caches

from oauthkit import _remote
from oauthkit.testing.factories import AccessTokenFactory


@pytest.fixture(autouse=True)
def fresh_caches():
    """Introspection answers, revocation entries and remote metadata never leak across
    tests (the locmem cache lives as long as the process)."""
    caches["default"].clear()
    _remote.clear()
    yield
    caches["default"].clear()
    _remote.clear()


@pytest.fixture
def token_row(user, oauth_client):
    """An access-token row whose jti forged JWTs use, so the database check finds it."""
    return AccessTokenFactory(user=user, client=oauth_client, scope="read write")
