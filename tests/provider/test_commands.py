"""The management commands: createclient, cleartokens and rotatekeys."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from oauthkit import jose
from oauthkit.provider.hashing import hash_secret, new_secret
from oauthkit.provider.keys import create_signing_key, key_ring
from oauthkit.provider.models import (
    AccessToken,
    AuthorizationCode,
    Client,
    RefreshToken,
    SigningKey,
    UsedClientAssertion,
)
from oauthkit.testing.factories import (
    AccessTokenFactory,
    ConsentFactory,
    RefreshTokenFactory,
)
from tests.helpers import basic, basic_auth, post_form

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_key_ring():
    # Keys cached by an earlier test may name rows that were rolled back.
    key_ring.clear()
    yield
    key_ring.clear()


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


# createclient


def test_createclient_json_prints_a_working_secret_and_stores_its_hash(client):
    out = run(
        "createclient",
        "--name=Billing service",
        "--grant-type=client_credentials",
        "--scope=read",
        "--scope=write",
        "--default-scope=read",
        "--auth-method=client_secret_post",
        "--json",
    )

    body = json.loads(out)
    stored = Client.objects.get(client_id=body["client_id"])
    assert body["name"] == stored.name == "Billing service"
    assert body["client_type"] == "confidential"
    assert body["grant_types"] == stored.grant_types == ["client_credentials"]
    assert body["redirect_uris"] == []
    assert stored.scopes == ["read", "write"]
    assert stored.default_scopes == ["read"]
    assert stored.token_endpoint_auth_method == "client_secret_post"
    assert stored.secret_hash == hashlib.sha256(body["client_secret"].encode()).hexdigest()
    response = post_form(
        client,
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_id": body["client_id"],
            "client_secret": body["client_secret"],
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "read"


def test_createclient_public_client_has_no_secret():
    out = run(
        "createclient",
        "--name=Mobile",
        "--type=public",
        "--redirect-uri=com.example.app:/callback",
        "--redirect-uri=http://127.0.0.1/cb",
        "--json",
    )

    body = json.loads(out)
    assert body["client_secret"] is None
    stored = Client.objects.get(client_id=body["client_id"])
    assert stored.secret_hash == ""
    assert stored.token_endpoint_auth_method == "none"
    assert stored.grant_types == ["authorization_code", "refresh_token"]
    assert stored.redirect_uris == ["com.example.app:/callback", "http://127.0.0.1/cb"]


def test_createclient_enables_the_implicit_flow_only_while_the_site_allows_it(settings):
    args = (
        "createclient",
        "--name=Legacy SPA",
        "--redirect-uri=https://spa.example/cb",
        "--grant-type=authorization_code",
        "--grant-type=implicit",
        "--json",
    )
    with pytest.raises(CommandError, match="implicit"):
        run(*args)

    settings.OAUTHKIT = {**settings.OAUTHKIT, "ALLOW_IMPLICIT_FLOW": True}
    body = json.loads(run(*args))
    stored = Client.objects.get(client_id=body["client_id"])
    assert stored.grant_types == ["authorization_code", "implicit"]


def test_createclient_prints_id_and_secret_once_with_a_warning():
    out = run(
        "createclient",
        "--name=Web",
        "--redirect-uri=https://web.example.com/cb",
        "--client-id=web-app",
        "--skip-consent",
    )

    stored = Client.objects.get(client_id="web-app")
    assert stored.skip_consent is True
    assert "Client ID: web-app" in out
    secret = out.split("Client secret: ", 1)[1].split()[0]
    assert stored.check_secret(secret)
    assert "shown only once" in out


def test_createclient_accepts_a_long_enough_secret():
    secret = new_secret(32)
    run("createclient", "--name=CI", "--grant-type=client_credentials", f"--client-secret={secret}")

    assert Client.objects.get(name="CI").secret_hash == hash_secret(secret)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--client-secret=" + "x" * 31], "at least 32 characters"),
        (["--type=public", "--client-secret=" + "x" * 40], "public client has no secret"),
        # RFC 8252 §7.3: plain http only for loopback redirect URIs.
        (["--redirect-uri=http://evil.example.com/cb"], "only for loopback"),
        # RFC 6749 §3.1.2: no fragment.
        (["--redirect-uri=https://app.example.com/cb#x"], "fragment"),
        ([], "at least one redirect URI"),
        (["--type=public", "--grant-type=client_credentials"], "cannot use client_credentials"),
        (["--type=public", "--auth-method=client_secret_basic"], "authenticates with none"),
        (["--scope=read", "--default-scope=write", "--redirect-uri=https://a.example/cb"], "among"),
        (["--grant-type=password"], "invalid choice"),
        (["--scope=admin"], "invalid choice"),
    ],
)
def test_createclient_refuses_invalid_input_and_writes_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        run("createclient", "--name=Bad", *args)

    assert not Client.objects.exists()


def test_createclient_refuses_an_existing_client_id(oauth_client):
    with pytest.raises(CommandError, match="already exists"):
        run(
            "createclient",
            "--name=Copy",
            "--grant-type=client_credentials",
            f"--client-id={oauth_client.client_id}",
        )

    assert Client.objects.count() == 1


def test_createclient_checks_values_passed_as_keyword_arguments():
    # call_command() keyword arguments bypass argparse's choices.
    with pytest.raises(CommandError, match="not enabled here: password"):
        call_command("createclient", name="Bad", grant_types=["password"], stdout=StringIO())

    assert not Client.objects.exists()


def test_createclient_requires_a_name():
    with pytest.raises(CommandError, match="--name"):
        run("createclient")


# cleartokens


@pytest.fixture
def token_rows(oauth_client):
    """Rows cleartokens must delete (``gone``) and rows it must keep (``kept``)."""
    now = timezone.now()
    past, future = now - timedelta(seconds=1), now + timedelta(hours=1)

    def code(**kwargs):
        return AuthorizationCode.objects.create(
            client=oauth_client,
            code_hash=hash_secret(new_secret()),
            redirect_uri=oauth_client.redirect_uris[0],
            **kwargs,
        )

    gone = [
        AccessTokenFactory(client=oauth_client, expires_at=past),
        AccessTokenFactory(client=oauth_client, revoked_at=now),
        RefreshTokenFactory(client=oauth_client, expires_at=past),
        RefreshTokenFactory(client=oauth_client, revoked_at=now),
        RefreshTokenFactory(client=oauth_client, rotated_at=now, expires_at=past),
        RefreshTokenFactory(client=oauth_client, rotated_at=now, revoked_at=now),
        code(expires_at=past),
        code(expires_at=past, used_at=now),
        ConsentFactory(client=oauth_client, expires_at=past),
        ConsentFactory(client=oauth_client, revoked_at=now),
        UsedClientAssertion.objects.create(client=oauth_client, jti_hash="a" * 64, expires_at=past),
    ]
    kept = [
        AccessTokenFactory(client=oauth_client, expires_at=future),
        RefreshTokenFactory(client=oauth_client, expires_at=future),
        # RFC 9700 §4.14.2: a rotated token must stay to detect its reuse.
        RefreshTokenFactory(client=oauth_client, rotated_at=now, expires_at=future),
        code(expires_at=future),
        # RFC 6749 §4.1.2: a used code must stay to detect its replay until it expires.
        code(expires_at=future, used_at=now),
        ConsentFactory(client=oauth_client, expires_at=future),
        # RFC 7523 §3: an assertion's jti is kept while the assertion could be replayed.
        UsedClientAssertion.objects.create(
            client=oauth_client, jti_hash="b" * 64, expires_at=future
        ),
    ]
    return gone, kept


def exists(row) -> bool:
    return type(row).objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("batch_size", [1000, 1])
def test_cleartokens_deletes_exactly_the_unusable_rows(token_rows, batch_size):
    gone, kept = token_rows

    out = run("cleartokens", f"--batch-size={batch_size}")

    assert [row for row in gone if exists(row)] == []
    assert [row for row in kept if not exists(row)] == []
    assert "Access tokens: 2 deleted." in out
    assert "Refresh tokens: 4 deleted." in out
    assert "Authorization codes: 2 deleted." in out
    assert "Consents: 2 deleted." in out
    assert "Used client assertions: 1 deleted." in out


def test_cleartokens_deletes_in_batches(oauth_client):
    past = timezone.now() - timedelta(seconds=1)
    for _ in range(5):
        AccessTokenFactory(client=oauth_client, expires_at=past)
    live = AccessTokenFactory(client=oauth_client)

    out = run("cleartokens", "--batch-size=2", "--verbosity=2")

    assert list(AccessToken.objects.values_list("pk", flat=True)) == [live.pk]
    progress = [line for line in out.splitlines() if "access tokens:" in line]
    assert [line.split(": ")[1] for line in progress] == [
        "2 deleted so far",
        "4 deleted so far",
        "5 deleted so far",
    ]


def test_cleartokens_keeps_live_refresh_tokens_usable(client, oauth_client):
    """After a run, a kept rotated token's reuse still revokes its family (RFC 9700 §4.14.2)."""
    grant = uuid.uuid4()
    now = timezone.now()
    old = RefreshTokenFactory(client=oauth_client, grant_id=grant, rotated_at=now)
    current = RefreshTokenFactory(client=oauth_client, grant_id=grant)

    run("cleartokens")
    response = post_form(
        client,
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": old.raw_token},
        **basic_auth(oauth_client),
    )

    assert response.status_code == 400
    assert RefreshToken.objects.get(pk=current.pk).revoked_at is not None


def test_cleartokens_refuses_a_bad_batch_size():
    with pytest.raises(CommandError, match="positive"):
        run("cleartokens", "--batch-size=0")


# rotatekeys


def jwks_kids(http) -> set[str]:
    return {key["kid"] for key in http.get("/o/jwks/").json()["keys"]}


def issued_kid(http, oauth_client) -> str:
    response = post_form(
        http, "/o/token/", {"grant_type": "client_credentials"}, **basic_auth(oauth_client)
    )
    assert response.status_code == 200, response.content
    return jose.unverified_header(response.json()["access_token"])["kid"]


def test_rotatekeys_publishes_the_new_key_and_keeps_the_old_one(client, oauth_client):
    settings_kid = issued_kid(client, oauth_client)
    assert settings_kid in jwks_kids(client)

    first = run("rotatekeys").split("New signing key: ")[1].split()[0]
    assert issued_kid(client, oauth_client) == first
    second = run("rotatekeys").split("New signing key: ")[1].split()[0]

    old = SigningKey.objects.get(kid=first)
    assert old.active is False
    assert old.retired_at is not None
    # Retired keys stay in the JWKS while tokens they signed may be valid.
    assert {settings_kid, first, second} <= jwks_kids(client)
    assert issued_kid(client, oauth_client) == second


def test_rotatekeys_of_another_algorithm_keeps_the_current_ones_signing(client, oauth_client):
    # Clients registered for RS256 ID tokens still need an RS256 key.
    rs256 = run("rotatekeys").split("New signing key: ")[1].split()[0]
    es256 = run("rotatekeys", "--algorithm=ES256").split("New signing key: ")[1].split()[0]

    assert SigningKey.objects.get(kid=es256).algorithm == "ES256"
    assert SigningKey.objects.get(kid=rs256).active is True
    assert issued_kid(client, oauth_client) == es256


def test_rotatekeys_uses_the_signing_algorithm_setting(settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "SIGNING_ALGORITHM": "EdDSA"}

    run("rotatekeys")

    assert SigningKey.objects.get().algorithm == "EdDSA"


def test_rotatekeys_refuses_an_algorithm_it_cannot_generate(settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "SIGNING_ALGORITHM": "HS256"}

    with pytest.raises(CommandError, match="HS256"):
        run("rotatekeys")

    assert not SigningKey.objects.exists()


def retire(key: SigningKey, ago: timedelta) -> None:
    SigningKey.objects.filter(pk=key.pk).update(active=False, retired_at=timezone.now() - ago)


def test_rotatekeys_list_shows_each_keys_status():
    gone = create_signing_key("ES256")
    retire(gone, timedelta(days=2))
    retired = create_signing_key("ES256")
    retire(retired, timedelta(minutes=1))
    current = create_signing_key("ES256")

    lines = run("rotatekeys", "--list").splitlines()

    def status(kid):
        return next(line for line in lines if line.startswith(kid))

    assert status(current.kid).endswith("signing")
    assert status(retired.kid).endswith("retired, published")
    assert "not published" in status(gone.kid)
    assert any("from SIGNING_KEYS" in line and line.endswith("published") for line in lines)


def test_rotatekeys_prune_deletes_only_unpublished_keys(client):
    gone = create_signing_key("ES256")
    retire(gone, timedelta(days=2))
    retired = create_signing_key("ES256")
    retire(retired, timedelta(minutes=1))
    current = create_signing_key("ES256")
    assert gone.kid not in jwks_kids(client)

    out = run("rotatekeys", "--prune")

    assert f"Deleted {gone.kid}." in out
    assert set(SigningKey.objects.values_list("kid", flat=True)) == {retired.kid, current.kid}
    assert {retired.kid, current.kid} <= jwks_kids(client)


def test_rotatekeys_list_and_prune_exclude_each_other():
    with pytest.raises(CommandError):
        run("rotatekeys", "--list", "--prune")


def test_createclient_refuses_a_client_id_of_digits_only():
    # Checklist 12: a client_id must never equal a user's numeric `sub`.
    with pytest.raises(CommandError, match="digits"):
        run("createclient", "--name=Digits", "--grant-type=client_credentials", "--client-id=42")

    assert not Client.objects.exists()


def test_createclient_can_introspect_lets_an_api_introspect_other_clients_tokens(
    client, oauth_client
):
    token = post_form(
        client, "/o/token/", {"grant_type": "client_credentials"}, **basic_auth(oauth_client)
    ).json()["access_token"]
    body = json.loads(
        run(
            "createclient",
            "--name=Orders API",
            "--grant-type=client_credentials",
            "--can-introspect",
            "--json",
        )
    )
    assert body["can_introspect"] is True
    api = {"HTTP_AUTHORIZATION": basic(body["client_id"], body["client_secret"])}

    answer = post_form(client, "/o/introspect/", {"token": token}, **api).json()

    assert answer["active"] is True
