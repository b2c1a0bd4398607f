"""Bad input gets a standard error, never a 500 (NUL bytes are refused by PostgreSQL)."""

import pytest

from oauthkit.provider.models import AuthorizationCode
from tests.helpers import (
    assert_oauth_error,
    authorize_params,
    basic_auth,
    pkce_pair,
    post_form,
    query_of,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["grant_type", "client_id", "scope", "code", "x"])
def test_nul_character_in_a_token_request_is_invalid_request(client, oauth_client, name):
    data = {"grant_type": "client_credentials", name: "a\x00b"}
    response = post_form(client, "/o/token/", data, **basic_auth(oauth_client))
    assert_oauth_error(response, "invalid_request")


def test_nul_character_in_client_id_shows_the_error_page(client, user, oauth_client):
    client.force_login(user)
    _, challenge = pkce_pair()
    params = authorize_params(oauth_client, challenge, client_id="ok\x00")
    response = client.get("/o/authorize/", params)
    assert response.status_code == 400
    assert "Location" not in response


def test_nul_character_in_nonce_is_redirected_as_invalid_request(client, user, oauth_client):
    client.force_login(user)
    _, challenge = pkce_pair()
    params = authorize_params(oauth_client, challenge, nonce="n\x00")
    response = client.get("/o/authorize/", params)
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "invalid_request"
    assert not AuthorizationCode.objects.exists()


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/o/token/", {"grant_type": "client_credentials"}),
        ("/o/revoke/", {"token": "anything"}),
        ("/o/introspect/", {"token": "anything"}),
    ],
)
def test_a_locked_database_is_temporarily_unavailable(
    client, oauth_client, monkeypatch, path, data
):
    # SQLite before Django 5.1 refuses a second writer at once: the client may retry
    # (RFC 6749 §5.2), on every back-channel endpoint, client authentication included.
    from django.db import OperationalError

    from oauthkit.provider.endpoints import base

    def locked(request):
        raise OperationalError("database is locked")

    monkeypatch.setattr(base, "read_form", locked)
    response = post_form(client, path, data, **basic_auth(oauth_client))
    assert_oauth_error(response, "temporarily_unavailable", status=503)


def test_another_database_error_is_not_disguised(client, oauth_client, monkeypatch):
    from django.db import OperationalError

    from oauthkit.provider.endpoints import base

    def broken(request):
        raise OperationalError("no such table: oauthkit_provider_client")

    monkeypatch.setattr(base, "read_form", broken)
    with pytest.raises(OperationalError):
        post_form(client, "/o/token/", {"grant_type": "client_credentials"})
