"""A key created by another process is found as soon as a token names it."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from oauthkit import jose
from oauthkit.provider.keys import key_ring
from oauthkit.provider.models import AccessToken, SigningKey
from tests.helpers import basic_auth, post_form

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_key_ring():
    key_ring.clear()
    yield
    key_ring.clear()


def test_token_signed_by_a_key_this_process_has_not_loaded_yet_introspects_active(
    client, oauth_client
):
    # Warm this process's cache.
    issued = post_form(
        client, "/o/token/", {"grant_type": "client_credentials"}, **basic_auth(oauth_client)
    )
    assert issued.status_code == 200
    # Another process runs rotatekeys: bulk_create sends no signal, so our cache is stale.
    key = jose.generate_key("ES256")
    SigningKey.objects.bulk_create(
        [SigningKey(kid=key["kid"], algorithm="ES256", private_jwk=key.export_private())]
    )
    now = timezone.now()
    row = AccessToken.objects.create(
        jti="other-process",
        client=oauth_client,
        scope="read",
        grant_id=uuid.uuid4(),
        audience="https://testserver",
        expires_at=now + timedelta(hours=1),
    )
    claims = {
        "iss": "https://testserver",
        "sub": oauth_client.client_id,
        "aud": row.audience,
        "exp": int(row.expires_at.timestamp()),
        "iat": int(now.timestamp()),
        "jti": row.jti,
        "client_id": oauth_client.client_id,
        "scope": "read",
    }
    token = jose.sign(claims, key, typ="at+jwt")
    key_ring.current().loaded_at -= 5  # the last load was more than a second ago

    response = post_form(client, "/o/introspect/", {"token": token}, **basic_auth(oauth_client))

    assert response.json()["active"] is True
    assert key["kid"] in key_ring.verification_keys()
