"""Client authentication at /o/token/ (RFC 6749 §2.3.1, §3.2.1, §5.2)."""

import base64

import pytest

from oauthkit.provider.models import Client
from oauthkit.testing.factories import ClientFactory
from tests.helpers import assert_oauth_error, basic, basic_auth, post_form

pytestmark = pytest.mark.django_db

CC = {"grant_type": "client_credentials"}


def raw_basic(text: str) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(text.encode()).decode()}


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [("ok:colon", "se:cr:et"), ("ok%percent", "100%sure"), ("ok plus+", "a+b c/d=")],
)
def test_basic_credentials_are_form_urlencoded(client, client_id, secret):
    ClientFactory(client_id=client_id, raw_secret=secret)
    headers = {"HTTP_AUTHORIZATION": basic(client_id, secret)}

    # RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
    response = post_form(client, "/o/token/", CC, **headers)

    assert response.status_code == 200, response.content
    token = response.json()["access_token"]
    introspected = post_form(client, "/o/introspect/", {"token": token}, **headers).json()
    assert introspected["client_id"] == client_id


def test_basic_credentials_not_urlencoded_fail_when_they_contain_percent(client):
    oauth_client = ClientFactory(raw_secret="a%41b")

    # Decoded as the RFC says, "a%41b" becomes "aAb", which is not the secret.
    response = post_form(client, "/o/token/", CC, **raw_basic(f"{oauth_client.client_id}:a%41b"))

    assert_oauth_error(response, "invalid_client", status=401)


def test_client_secret_post(client):
    oauth_client = ClientFactory(token_endpoint_auth_method=Client.AuthMethod.CLIENT_SECRET_POST)
    data = {**CC, "client_id": oauth_client.client_id, "client_secret": oauth_client.raw_secret}

    assert post_form(client, "/o/token/", data).status_code == 200


def test_basic_and_client_secret_in_the_body_is_invalid_request(client, oauth_client):
    data = {**CC, "client_id": oauth_client.client_id, "client_secret": oauth_client.raw_secret}

    response = post_form(client, "/o/token/", data, **basic_auth(oauth_client))

    # RFC 6749 §2.3: a client must not use more than one authentication method.
    assert_oauth_error(response, "invalid_request")


def test_client_id_in_the_body_differing_from_basic_is_invalid_request(client, oauth_client):
    other = ClientFactory()
    data = {**CC, "client_id": other.client_id}

    assert_oauth_error(
        post_form(client, "/o/token/", data, **basic_auth(oauth_client)), "invalid_request"
    )


def test_inactive_client_is_invalid_client(client):
    oauth_client = ClientFactory(is_active=False)

    response = post_form(client, "/o/token/", CC, **basic_auth(oauth_client))

    # RFC 6749 §5.2: 401 and WWW-Authenticate when the client used Basic.
    assert_oauth_error(response, "invalid_client", status=401)
    assert response["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    "headers",
    [
        lambda c: {"HTTP_AUTHORIZATION": basic(c.client_id, "wrong")},
        lambda c: {"HTTP_AUTHORIZATION": basic("ok_unknown", c.raw_secret)},
        lambda c: raw_basic("no-colon"),
        lambda c: {"HTTP_AUTHORIZATION": "Basic !!not-base64!!"},
    ],
    ids=["wrong-secret", "unknown-client", "no-colon", "not-base64"],
)
def test_bad_basic_credentials_are_invalid_client_with_www_authenticate(
    client, oauth_client, headers
):
    response = post_form(client, "/o/token/", CC, **headers(oauth_client))

    assert_oauth_error(response, "invalid_client", status=401)
    assert response["WWW-Authenticate"].startswith("Basic")


def test_no_credentials_is_invalid_client(client):
    assert_oauth_error(post_form(client, "/o/token/", CC), "invalid_client", status=401)


def test_confidential_client_without_its_secret_is_invalid_client(client, oauth_client):
    response = post_form(client, "/o/token/", {**CC, "client_id": oauth_client.client_id})

    assert_oauth_error(response, "invalid_client", status=401)


def test_client_must_use_its_registered_method(client, oauth_client):
    # oauth_client registered client_secret_basic; client_secret_post is refused.
    data = {**CC, "client_id": oauth_client.client_id, "client_secret": oauth_client.raw_secret}

    assert_oauth_error(post_form(client, "/o/token/", data), "invalid_client", status=401)
