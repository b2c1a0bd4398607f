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
