import pytest

from oauthkit.testing.factories import ClientFactory, UserFactory


@pytest.fixture
def user(db):
    return UserFactory(username="alice")


@pytest.fixture
def oauth_client(db):
    """A confidential client (client_secret_basic) with code, refresh and client credentials."""
    return ClientFactory(name="Example App")


@pytest.fixture
def public_client(db):
    return ClientFactory(public=True, name="Native App", redirect_uris=["http://127.0.0.1/cb"])


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Process-wide caches (clients, keys) start empty in every test."""
    from django.core.cache import caches

    from oauthkit.provider import client_cache
    from oauthkit.provider.keys import key_ring
    from oauthkit.resource import clear_process_caches

    client_cache.clear()
    key_ring.clear()
    clear_process_caches()
    # The local-memory cache holds throttle counts and remote metadata between tests.
    caches["default"].clear()
    yield
    client_cache.clear()
    key_ring.clear()


@pytest.fixture(scope="session")
def live_server(django_db_setup, live_server):
    """pytest-django's live server, started only once the test database exists: started
    earlier it would share the in-memory SQLite connection with its thread and crash."""
    return live_server


@pytest.fixture
def token(client, oauth_client):
    """``token("a b")``: a client-credentials access token for those scopes, from /o/token/."""
    from tests.helpers import cc_token

    return lambda scope: cc_token(client, oauth_client, scope)
