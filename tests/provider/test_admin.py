"""The admin, driven through real requests as a superuser: pages render, no secret or hash
is ever shown, client secrets appear exactly once, revocation and key retirement work."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from oauthkit.provider.hashing import hash_secret, new_secret
from oauthkit.provider.keys import create_signing_key, key_ring
from oauthkit.provider.models import (
    AccessToken,
    AuthorizationCode,
    Client,
    Consent,
    RefreshToken,
    SigningKey,
)
from oauthkit.testing.factories import (
    AccessTokenFactory,
    ClientFactory,
    ConsentFactory,
    RefreshTokenFactory,
    UserFactory,
)
from tests.helpers import basic, basic_auth, post_form

pytestmark = pytest.mark.django_db

ADMIN = "/admin/oauthkit_provider"


@pytest.fixture(autouse=True)
def fresh_key_ring():
    # Keys cached by an earlier test may name rows that were rolled back.
    key_ring.clear()
    yield
    key_ring.clear()


def secret_on_page(response) -> str:
    match = re.search(r'<code id="client-secret">([^<]+)</code>', response.content.decode())
    assert match, response.content
    return match.group(1)


def client_credentials(http, client_id: str, secret: str):
    return post_form(
        http,
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(client_id, secret),
    )


def add_client(admin_client, **overrides):
    data = {
        "name": "Partner",
        "client_id": "ok_partner-app",
        "client_type": "confidential",
        "token_endpoint_auth_method": "client_secret_basic",
        "redirect_uris": "https://partner.example.com/cb\n\n  https://partner.example.com/cb2  \n",
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "scopes": ["read", "write"],
        "default_scopes": ["read"],
        "require_pkce": "on",
        "access_token_format": "",
        "id_token_signed_response_alg": "RS256",
        "subject_type": "public",
        "is_active": "on",
        "metadata": "{}",
        **overrides,
    }
    return admin_client.post(f"{ADMIN}/client/add/", data)


@pytest.fixture
def records(oauth_client, user):
    """One row of every model, with the raw values and hashes that must never be shown."""
    access = AccessTokenFactory(client=oauth_client, user=user)
    refresh = RefreshTokenFactory(client=oauth_client, user=user, grant_id=access.grant_id)
    raw_code = new_secret(32)
    code = AuthorizationCode.objects.create(
        client=oauth_client,
        user=user,
        code_hash=hash_secret(raw_code),
        redirect_uri=oauth_client.redirect_uris[0],
        code_challenge="x" * 43,
        code_challenge_method="S256",
        expires_at=timezone.now() + timedelta(minutes=1),
    )
    consent = ConsentFactory(client=oauth_client, user=user)
    key = create_signing_key("ES256")
    private = json.loads(key.private_jwk)
    secrets = [
        oauth_client.raw_secret,
        oauth_client.secret_hash,
        access.raw_token,
        access.token_hash,
        refresh.raw_token,
        refresh.token_hash,
        raw_code,
        code.code_hash,
        private["d"],
    ]
    objects = {
        "client": oauth_client,
        "accesstoken": access,
        "refreshtoken": refresh,
        "authorizationcode": code,
        "consent": consent,
        "signingkey": key,
    }
    return objects, secrets


def test_every_page_renders_and_shows_no_secret_or_hash(admin_client, records):
    objects, secrets = records
    pages = []
    for name, obj in objects.items():
        pages += [f"{ADMIN}/{name}/", f"{ADMIN}/{name}/{obj.pk}/change/"]
    pages += [
        f"{ADMIN}/accesstoken/?state=active&q=alice",
        f"{ADMIN}/refreshtoken/?state=rotated",
        f"{ADMIN}/authorizationcode/?state=unused",
        f"{ADMIN}/consent/?state=revoked",
        f"{ADMIN}/client/?grant_type=client_credentials&client_type=confidential",
        f"{ADMIN}/signingkey/?active=1",
        f"{ADMIN}/client/add/",
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        leaked = [s for s in secrets if s in html]
        assert not leaked, (url, leaked)
    # The pages do show what identifies a record.
    assert objects["accesstoken"].jti in admin_client.get(f"{ADMIN}/accesstoken/").content.decode()
    assert objects["signingkey"].kid in admin_client.get(f"{ADMIN}/signingkey/").content.decode()


def test_list_pages_do_not_query_per_row(admin_client, oauth_client, django_assert_max_num_queries):
    for _ in range(5):
        user = UserFactory()
        AccessTokenFactory(client=oauth_client, user=user)
        RefreshTokenFactory(client=oauth_client, user=user)
        ConsentFactory(client=oauth_client, user=user)
    for name in ("accesstoken", "refreshtoken", "consent"):
        with django_assert_max_num_queries(12):
            assert admin_client.get(f"{ADMIN}/{name}/").status_code == 200


def test_grant_type_filter(admin_client, oauth_client, public_client):
    html = admin_client.get(f"{ADMIN}/client/?grant_type=client_credentials").content.decode()
    assert oauth_client.client_id in html
    assert public_client.client_id not in html


def test_grant_link_lists_the_tokens_of_one_grant(admin_client, oauth_client):
    first = AccessTokenFactory(client=oauth_client)
    same = AccessTokenFactory(client=oauth_client, grant_id=first.grant_id)
    other = AccessTokenFactory(client=oauth_client)
    page = admin_client.get(f"{ADMIN}/accesstoken/{first.pk}/change/").content.decode()
    link = f"{ADMIN}/accesstoken/?grant_id={first.grant_id}"
    assert link in page

    listed = admin_client.get(link).content.decode()

    assert first.jti in listed
    assert same.jti in listed
    assert other.jti not in listed


def test_adding_a_confidential_client_shows_its_secret_once(client, admin_client):
    response = add_client(admin_client)

    # The secret page answers the POST itself: the secret is never stored in a session.
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = secret_on_page(response)
    created = Client.objects.get(client_id="ok_partner-app")
    assert created.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert created.redirect_uris == [
        "https://partner.example.com/cb",
        "https://partner.example.com/cb2",
    ]
    assert created.grant_types == ["authorization_code", "refresh_token", "client_credentials"]
    assert created.default_scopes == ["read"]
    change_page = admin_client.get(f"{ADMIN}/client/{created.pk}/change/").content.decode()
    assert secret not in change_page
    assert created.secret_hash not in change_page
    assert "https://partner.example.com/cb2" in change_page  # one URI per line
    # The secret shown is the one that works.
    assert client_credentials(client, created.client_id, secret).status_code == 200


def test_adding_a_public_client_makes_no_secret(admin_client):
    response = add_client(
        admin_client,
        client_type="public",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code"],
        redirect_uris="http://127.0.0.1/cb",
    )

    assert response.status_code == 302
    assert Client.objects.get(client_id="ok_partner-app").secret_hash == ""


def test_making_a_public_client_confidential_shows_its_new_secret(admin_client, public_client):
    response = admin_client.post(
        f"{ADMIN}/client/{public_client.pk}/change/",
        {
            "name": public_client.name,
            "client_type": "confidential",
            "token_endpoint_auth_method": "client_secret_post",
            "redirect_uris": "\n".join(public_client.redirect_uris),
            "grant_types": public_client.grant_types,
            "require_pkce": "on",
            "access_token_format": "",
            "id_token_signed_response_alg": "RS256",
            "subject_type": "public",
            "is_active": "on",
            "metadata": "{}",
        },
    )

    secret = secret_on_page(response)
    assert Client.objects.get(pk=public_client.pk).check_secret(secret)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        # RFC 6749 §3.1.2: absolute, no fragment; RFC 8252 §7.3: plain http only for loopback.
        ({"redirect_uris": "http://partner.example.com/cb"}, "only for loopback"),
        ({"redirect_uris": "https://partner.example.com/cb#x"}, "fragment"),
        ({"redirect_uris": ""}, "at least one redirect URI"),
        ({"scopes": ["write"], "default_scopes": ["read"]}, "among the allowed scopes"),
        ({"client_type": "public", "token_endpoint_auth_method": "none"}, "client_credentials"),
        ({"grant_types": ["password"]}, "Select a valid choice"),
    ],
)
def test_add_form_refuses_an_invalid_client(admin_client, overrides, message):
    response = add_client(admin_client, **overrides)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Client.objects.exists()


def test_regenerate_secret_shows_the_new_secret_once(client, admin_client, oauth_client):
    url = f"{ADMIN}/client/{oauth_client.pk}/regenerate-secret/"
    change_page = admin_client.get(f"{ADMIN}/client/{oauth_client.pk}/change/").content.decode()
    assert url in change_page  # the button
    confirm = admin_client.get(url)
    assert confirm.status_code == 200
    assert 'id="client-secret"' not in confirm.content.decode()  # GET changes nothing
    assert Client.objects.get(pk=oauth_client.pk).check_secret(oauth_client.raw_secret)

    response = admin_client.post(url)

    secret = secret_on_page(response)
    assert "no-store" in response["Cache-Control"]
    stored = Client.objects.get(pk=oauth_client.pk)
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert client_credentials(client, oauth_client.client_id, secret).status_code == 200
    old = client_credentials(client, oauth_client.client_id, oauth_client.raw_secret)
    assert old.status_code == 401
    assert (
        secret not in admin_client.get(f"{ADMIN}/client/{oauth_client.pk}/change/").content.decode()
    )


def test_a_public_client_has_no_secret_to_regenerate(admin_client, public_client):
    response = admin_client.post(f"{ADMIN}/client/{public_client.pk}/regenerate-secret/")

    assert response.status_code == 302
    assert Client.objects.get(pk=public_client.pk).secret_hash == ""


def test_tokens_codes_and_keys_cannot_be_added_or_edited(admin_client, records):
    objects, _secrets = records
    for name in ("accesstoken", "refreshtoken", "authorizationcode", "consent", "signingkey"):
        assert admin_client.get(f"{ADMIN}/{name}/add/").status_code == 403, name
        obj = objects[name]
        response = admin_client.post(f"{ADMIN}/{name}/{obj.pk}/change/", {"scope": "write"})
        assert response.status_code == 403, name


def run_action(admin_client, model: str, action: str, objects):
    return admin_client.post(
        f"{ADMIN}/{model}/",
        {"action": action, "_selected_action": [obj.pk for obj in objects]},
    )


def test_revoking_access_tokens(client, admin_client, oauth_client):
    chosen, other = AccessTokenFactory(client=oauth_client), AccessTokenFactory(client=oauth_client)

    response = run_action(admin_client, "accesstoken", "revoke_selected", [chosen])

    assert response.status_code == 302
    assert AccessToken.objects.get(pk=chosen.pk).revoked_at is not None
    assert AccessToken.objects.get(pk=other.pk).revoked_at is None
    # RFC 7662 §2.2: a revoked token introspects as inactive.
    body = post_form(
        client, "/o/introspect/", {"token": chosen.raw_token}, **basic_auth(oauth_client)
    )
    assert body.json() == {"active": False}


def test_revoking_a_refresh_token_revokes_its_grant(admin_client, oauth_client):
    refresh = RefreshTokenFactory(client=oauth_client)
    same_grant = AccessTokenFactory(client=oauth_client, grant_id=refresh.grant_id)
    other_grant = AccessTokenFactory(client=oauth_client)

    run_action(admin_client, "refreshtoken", "revoke_selected", [refresh])

    # RFC 7009 §2.1: revoking a refresh token revokes the access tokens of its grant.
    assert RefreshToken.objects.get(pk=refresh.pk).revoked_at is not None
    assert AccessToken.objects.get(pk=same_grant.pk).revoked_at is not None
    assert AccessToken.objects.get(pk=other_grant.pk).revoked_at is None


def test_revoking_a_consent_revokes_the_users_tokens_for_that_client(admin_client, oauth_client):
    alice, bob = UserFactory(), UserFactory()
    other_client = ClientFactory()
    consent = ConsentFactory(user=alice, client=oauth_client)
    kept_consent = ConsentFactory(user=bob, client=oauth_client)
    revoked = [
        AccessTokenFactory(user=alice, client=oauth_client),
        RefreshTokenFactory(user=alice, client=oauth_client),
    ]
    kept = [
        AccessTokenFactory(user=bob, client=oauth_client),
        AccessTokenFactory(user=alice, client=other_client),
        RefreshTokenFactory(user=alice, client=other_client),
    ]

    run_action(admin_client, "consent", "revoke_selected", [consent])

    assert Consent.objects.get(pk=consent.pk).revoked_at is not None
    assert Consent.objects.get(pk=kept_consent.pk).revoked_at is None
    for token in revoked:
        token.refresh_from_db()
        assert token.revoked_at is not None, token
    for token in kept:
        token.refresh_from_db()
        assert token.revoked_at is None, token


def test_retiring_a_key_keeps_it_published(client, admin_client):
    old = create_signing_key("ES256")
    new = create_signing_key("ES256")

    run_action(admin_client, "signingkey", "retire_selected", [old])

    old.refresh_from_db()
    assert old.active is False
    assert old.retired_at is not None
    assert SigningKey.objects.get(pk=new.pk).active is True
    kids = {k["kid"] for k in client.get("/o/jwks/").json()["keys"]}
    assert {old.kid, new.kid} <= kids


def test_the_last_signing_key_is_not_retired(admin_client, settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "SIGNING_KEYS": []}
    only = create_signing_key("ES256")

    response = run_action(admin_client, "signingkey", "retire_selected", [only])

    assert response.status_code == 302
    assert SigningKey.objects.get(pk=only.pk).active is True
