"""Local mode, opaque access tokens: looked up by hash in the provider's database."""

from datetime import timedelta

import pytest
from django.utils import timezone

from oauthkit.provider.models import AccessToken
from oauthkit.testing.factories import AccessTokenFactory
from tests.helpers import get_code, redeem
from tests.resource.helpers import (
    ECHO,
    WHOAMI,
    assert_invalid_token,
    bearer,
    cc_token,
    configure,
    revoke,
    user_token,
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.resource.api")]


@pytest.fixture(autouse=True)
def opaque(settings):
    configure(settings, ACCESS_TOKEN_FORMAT="opaque")


def test_valid_opaque_token(client, user, oauth_client, django_assert_num_queries):
    token = user_token(client, user, oauth_client, scope="read write")
    assert token.count(".") != 2
    row = AccessToken.objects.get()

    with django_assert_num_queries(1):  # the lookup by hash; the user is not loaded
        response = client.get(ECHO, **bearer(token))

    assert response.status_code == 200, response.content
    assert response.json() == {
        "scopes": ["read", "write"],
        "client_id": oauth_client.client_id,
        "subject": str(user.pk),
        "jti": row.jti,
        "expires_at": int(row.expires_at.timestamp()),
        "audience": ["https://testserver"],
    }


def test_opaque_token_user(client, user, oauth_client):
    token = user_token(client, user, oauth_client)

    body = client.get(WHOAMI, **bearer(token)).json()

    assert body["pk"] == user.pk
    assert body["is_authenticated"] is True


def test_opaque_client_credentials_token_is_a_client_principal(client, oauth_client):
    token = cc_token(client, oauth_client)

    body = client.get(WHOAMI, **bearer(token)).json()

    assert body == {
        "user": f"client:{oauth_client.client_id}",
        "pk": None,
        "is_authenticated": False,
        "client_id": oauth_client.client_id,
    }


def test_expired_opaque_token_is_refused(client, user, oauth_client):
    row = AccessTokenFactory(
        user=user,
        client=oauth_client,
        audience="https://testserver",
        expires_at=timezone.now() - timedelta(seconds=1),
    )

    assert_invalid_token(client.get(ECHO, **bearer(row.raw_token)))


def test_factory_token_is_accepted(client, user, oauth_client):
    # The baseline for the refusals built from the factory.
    row = AccessTokenFactory(user=user, client=oauth_client, audience="https://testserver")

    assert client.get(ECHO, **bearer(row.raw_token)).status_code == 200


def test_revoked_opaque_token_is_refused(client, user, oauth_client):
    token = user_token(client, user, oauth_client)
    assert client.get(ECHO, **bearer(token)).status_code == 200

    revoke(client, oauth_client, token)

    assert_invalid_token(client.get(ECHO, **bearer(token)))


def test_opaque_token_for_another_audience_is_refused(client, settings, user, oauth_client):
    token = user_token(client, user, oauth_client)
    configure(settings, {"AUDIENCE": "https://billing.example"}, ACCESS_TOKEN_FORMAT="opaque")

    assert_invalid_token(client.get(ECHO, **bearer(token)))


def test_opaque_token_with_another_audience_row_is_refused(client, user, oauth_client):
    row = AccessTokenFactory(user=user, client=oauth_client, audience="https://billing.example")

    assert_invalid_token(client.get(ECHO, **bearer(row.raw_token)))


def test_opaque_token_of_deactivated_user_is_refused(client, user, oauth_client):
    token = user_token(client, user, oauth_client)
    user.is_active = False
    user.save()

    assert_invalid_token(client.get(ECHO, **bearer(token)))


def test_opaque_token_of_deactivated_client_is_refused(client, oauth_client):
    token = cc_token(client, oauth_client)
    oauth_client.is_active = False
    oauth_client.save()

    assert_invalid_token(client.get(ECHO, **bearer(token)))


def test_unknown_opaque_token_is_refused(client):
    assert_invalid_token(client.get(ECHO, **bearer("unknown-token-value")))


def test_refresh_token_is_not_an_access_token(client, user, oauth_client):
    client.force_login(user)
    code, verifier = get_code(client, oauth_client)
    refresh = redeem(client, oauth_client, code, verifier).json()["refresh_token"]

    assert_invalid_token(client.get(ECHO, **bearer(refresh)))
