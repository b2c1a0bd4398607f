import pytest

from tests.helpers import basic_auth, get_code, post_form, redeem

pytestmark = pytest.mark.django_db


def test_code_flow_then_refresh_then_client_credentials(client, user, oauth_client):
    client.force_login(user)
    code, verifier = get_code(client, oauth_client)
    response = redeem(client, oauth_client, code, verifier)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["refresh_token"]

    refreshed = post_form(
        client,
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        **basic_auth(oauth_client),
    )
    assert refreshed.status_code == 200, refreshed.content

    cc = post_form(
        client, "/o/token/", {"grant_type": "client_credentials"}, **basic_auth(oauth_client)
    )
    assert cc.status_code == 200, cc.content
    assert "refresh_token" not in cc.json()
