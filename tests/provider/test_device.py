"""Device authorization grant (RFC 8628): the device endpoint and polling the token endpoint.

The verification page has its own module (test_device_verification.py); races, the
command-line example and operations (admin, cleartokens) have theirs too.
"""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oauthkit import jose
from oauthkit.provider.device import USER_CODE_ALPHABET
from oauthkit.provider.hashing import hash_secret
from oauthkit.provider.keys import key_ring
from oauthkit.provider.models import AccessToken, DeviceAuthorization, RefreshToken
from oauthkit.testing.factories import ClientFactory, UserFactory
from tests.helpers import ISSUER, assert_oauth_error, post_form
from tests.provider._device import (
    DEVICE_GRANT,
    answer,
    device_app,
    device_request,
    poll,
    start,
    the_authorization,
    token_request,
)
from tests.provider.test_query_counts import TRANSACTION_CONTROL, data_queries_at_most

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(db):
    return device_app()


def verified(token: str, typ: str) -> dict:
    _header, claims = jose.verify(
        token, key_ring.verification_keys(), algs=jose.SUPPORTED_ALGORITHMS, typ=typ
    )
    return claims


def age(authorization: DeviceAuthorization, **delta) -> None:
    """Move the authorization's clock: its last poll (and expiry) happened ``delta`` ago."""
    DeviceAuthorization.objects.filter(pk=authorization.pk).update(
        last_polled_at=timezone.now() - timedelta(**delta)
    )


# --- Device authorization endpoint (RFC 8628 §3.1, §3.2) --------------------------------------


def test_device_endpoint_answers_codes_uris_lifetime_and_interval(client, app):
    response = device_request(client, app, {"scope": "openid read"})

    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    assert len(body["device_code"]) >= 43  # 256 bits
    # RFC 8628 §6.1: 8 characters without vowels or look-alikes, shown with a dash.
    first, dash, second = body["user_code"].partition("-")
    assert dash and len(first) == len(second) == 4
    assert set(first + second) <= set(USER_CODE_ALPHABET)
    # Absolute, built from the issuer like the metadata's endpoints.
    assert body["verification_uri"] == f"{ISSUER}/o/device/verify/"
    complete = urlsplit(body["verification_uri_complete"])
    assert f"{complete.scheme}://{complete.netloc}{complete.path}" == body["verification_uri"]
    assert parse_qs(complete.query) == {"user_code": [body["user_code"]]}
    assert body["expires_in"] == 600
    assert body["interval"] == 5

    record = the_authorization()
    assert record.client == app and record.user is None
    assert record.status == DeviceAuthorization.Status.PENDING
    assert record.requested_scope == "openid read" and record.scope == ""
    # Only hashes are stored (the user code normalized: no dash).
    assert record.device_code_hash == hash_secret(body["device_code"])
    assert record.user_code_hash == hash_secret(first + second)
    stored = str(DeviceAuthorization.objects.values().get())
    assert body["device_code"] not in stored and first + second not in stored


def test_each_request_gets_new_codes(client, app):
    one, two = start(client, app), start(client, app)
    assert one["device_code"] != two["device_code"]
    assert one["user_code"] != two["user_code"]


def test_a_user_code_already_taken_is_drawn_again(client, app, monkeypatch):
    drawn = iter(["WDJBMJHT", "WDJBMJHT", "BCDFGHJK"])
    monkeypatch.setattr("oauthkit.provider.device.generate_user_code", lambda: next(drawn))

    first, second = start(client, app), start(client, app)

    assert (first["user_code"], second["user_code"]) == ("WDJB-MJHT", "BCDF-GHJK")
    assert DeviceAuthorization.objects.count() == 2


def test_lifetime_and_interval_follow_the_settings(client, app, settings):
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "DEVICE_CODE_LIFETIME": timedelta(minutes=3),
        "DEVICE_POLL_INTERVAL": 7,
    }
    body = start(client, app)
    assert (body["expires_in"], body["interval"]) == (180, 7)
    record = the_authorization()
    assert record.interval == 7
    assert record.expires_at - record.created == timedelta(minutes=3)


def test_no_scope_gives_the_client_default_scopes(client):
    app = device_app(default_scopes=["profile"])
    start(client, app, scope=None)
    assert the_authorization().requested_scope == "profile"


def test_unknown_client_is_invalid_client(client):
    response = post_form(client, "/o/device/", {"client_id": "nobody", "scope": "read"})
    assert_oauth_error(response, "invalid_client", 401)
    assert not DeviceAuthorization.objects.exists()


def test_client_without_the_device_grant_is_unauthorized_client(client, public_client):
    response = device_request(client, public_client, {"scope": "read"})
    assert_oauth_error(response, "unauthorized_client")
    assert not DeviceAuthorization.objects.exists()


@pytest.mark.parametrize("scope", ["admin", "read admin", "write"])
def test_scope_the_client_may_not_have_is_invalid_scope(client, scope):
    app = device_app(scopes=["openid", "read"])
    response = device_request(client, app, {"scope": scope})
    assert_oauth_error(response, "invalid_scope")
    assert not DeviceAuthorization.objects.exists()


def test_confidential_client_must_authenticate(client):
    app = ClientFactory(grant_types=[DEVICE_GRANT])
    # client_id alone is not enough for a confidential client (RFC 8628 §3.1).
    response = post_form(client, "/o/device/", {"client_id": app.client_id, "scope": "read"})
    assert_oauth_error(response, "invalid_client", 401)
    response = post_form(
        client,
        "/o/device/",
        {"client_id": app.client_id, "client_secret": "wrong", "scope": "read"},
    )
    assert_oauth_error(response, "invalid_client", 401)
    assert not DeviceAuthorization.objects.exists()

    body = start(client, app, scope="read")  # with Basic
    assert poll(client, app, body["device_code"]).json()["error"] == "authorization_pending"


def test_device_endpoint_takes_only_form_posts(client, app):
    assert client.get("/o/device/").status_code == 405
    response = client.post("/o/device/", {"client_id": app.client_id})  # multipart
    assert_oauth_error(response, "invalid_request")


def test_disabled_grant_has_no_device_endpoint(client, app, settings):
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "GRANT_TYPES": ["oauthkit.provider.grants.authorization_code.AuthorizationCodeGrant"],
    }
    assert_oauth_error(device_request(client, app, {"scope": "read"}), "unsupported_grant_type")
    metadata = client.get("/.well-known/oauth-authorization-server").json()
    assert "device_authorization_endpoint" not in metadata


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
)
def test_metadata_advertises_the_device_endpoint_and_grant(client, path):
    metadata = client.get(path).json()
    # RFC 8628 §4.
    assert metadata["device_authorization_endpoint"] == f"{ISSUER}/o/device/"
    assert DEVICE_GRANT in metadata["grant_types_supported"]


def test_resource_becomes_the_audience(client, user):
    api = "https://api.example.com/"
    app = device_app(allowed_resources=[api])
    body = start(client, app, scope="read", resource=api)
    answer(client, user, body["user_code"])

    # RFC 8707 §2: the token request may repeat the resource, or omit it.
    response = poll(client, app, body["device_code"], resource=api)

    assert response.status_code == 200, response.content
    assert verified(response.json()["access_token"], "at+jwt")["aud"] == api


def test_resource_the_client_may_not_use_is_invalid_target(client, app):
    response = device_request(client, app, {"scope": "read", "resource": "https://evil.example/"})
    assert_oauth_error(response, "invalid_target")


def test_token_request_naming_another_resource_is_invalid_target(client, user):
    app = device_app(allowed_resources=["https://a.example/", "https://b.example/"])
    body = start(client, app, scope="read", resource="https://a.example/")
    answer(client, user, body["user_code"])
    response = poll(client, app, body["device_code"], resource="https://b.example/")
    assert_oauth_error(response, "invalid_target")
    # Nothing was consumed: the right request still works.
    assert poll(client, app, body["device_code"]).status_code == 200


# --- Polling (RFC 8628 §3.4, §3.5) ------------------------------------------------------------


def test_poll_before_the_user_answers_is_authorization_pending(client, app):
    body = start(client, app)
    response = poll(client, app, body["device_code"])
    assert_oauth_error(response, "authorization_pending")
    record = the_authorization()
    assert record.last_polled_at is not None and record.interval == 5
    assert not AccessToken.objects.exists()


def test_polling_faster_than_the_interval_is_slow_down_and_adds_5_seconds(client, app):
    body = start(client, app)
    assert_oauth_error(poll(client, app, body["device_code"]), "authorization_pending")

    # At once again: too soon.
    assert_oauth_error(poll(client, app, body["device_code"]), "slow_down")
    assert the_authorization().interval == 10
    assert_oauth_error(poll(client, app, body["device_code"]), "slow_down")
    assert the_authorization().interval == 15

    # §3.5: "for this and all subsequent requests": 11 seconds are now too soon as well.
    age(the_authorization(), seconds=11)
    assert_oauth_error(poll(client, app, body["device_code"]), "slow_down")
    assert the_authorization().interval == 20

    age(the_authorization(), seconds=21)
    assert_oauth_error(poll(client, app, body["device_code"]), "authorization_pending")
    assert the_authorization().interval == 20


def test_polling_at_the_interval_is_never_slowed_down(client, app):
    body = start(client, app)
    for _ in range(3):
        age(the_authorization(), seconds=5)
        assert_oauth_error(poll(client, app, body["device_code"]), "authorization_pending")
    assert the_authorization().interval == 5


def test_approved_code_gives_tokens_with_an_id_token_and_a_refresh_token(client, user, app):
    body = start(client, app, scope="openid profile read")
    answer(client, user, body["user_code"])

    response = poll(client, app, body["device_code"])

    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["scope"] == "openid profile read"
    access = verified(tokens["access_token"], "at+jwt")
    assert access["sub"] == str(user.pk)
    assert access["client_id"] == app.client_id
    assert access["scope"] == "openid profile read"
    # OIDC Core §3.1.3.3: with openid, an ID token for this client, without a nonce.
    id_token = verified(tokens["id_token"], "JWT")
    assert (id_token["iss"], id_token["aud"], id_token["sub"]) == (
        ISSUER,
        app.client_id,
        str(user.pk),
    )
    assert "nonce" not in id_token and "auth_time" in id_token
    # The whole grant shares one grant_id, so it can be revoked as one.
    record = the_authorization()
    assert record.used_at is not None
    refresh = RefreshToken.objects.get()
    assert refresh.grant_id == AccessToken.objects.get().grant_id == record.grant_id

    refreshed = post_form(
        client,
        "/o/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": app.client_id,
        },
    )
    assert refreshed.status_code == 200, refreshed.content


def test_without_openid_there_is_no_id_token(client, user, app):
    body = start(client, app, scope="read")
    answer(client, user, body["user_code"])
    tokens = poll(client, app, body["device_code"]).json()
    assert tokens["scope"] == "read"
    assert "id_token" not in tokens


def test_client_without_the_refresh_token_grant_gets_no_refresh_token(client, user):
    app = device_app(grant_types=[DEVICE_GRANT])
    body = start(client, app)
    answer(client, user, body["user_code"])
    tokens = poll(client, app, body["device_code"]).json()
    assert "refresh_token" not in tokens and tokens["id_token"]
    assert not RefreshToken.objects.exists()


def test_approved_code_is_answered_at_once_even_when_polled_fast(client, user, app):
    body = start(client, app)
    assert_oauth_error(poll(client, app, body["device_code"]), "authorization_pending")
    answer(client, user, body["user_code"])
    # slow_down is a variant of authorization_pending (§3.5): an answered code is not slowed.
    assert poll(client, app, body["device_code"]).status_code == 200


def test_denied_code_is_access_denied(client, user, app):
    body = start(client, app)
    answer(client, user, body["user_code"], decision="deny")
    for _ in range(2):
        assert_oauth_error(poll(client, app, body["device_code"]), "access_denied", 400)
    assert not AccessToken.objects.exists()


def test_expired_code_is_expired_token(client, user, app):
    body = start(client, app)
    answer(client, user, body["user_code"])
    DeviceAuthorization.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_oauth_error(poll(client, app, body["device_code"]), "expired_token")
    assert not AccessToken.objects.exists()


def test_device_code_is_single_use(client, user, app):
    body = start(client, app)
    answer(client, user, body["user_code"])
    assert poll(client, app, body["device_code"]).status_code == 200

    body2 = assert_oauth_error(poll(client, app, body["device_code"]), "invalid_grant")
    assert "already been used" in body2["error_description"]
    assert AccessToken.objects.count() == 1


def test_a_second_redemption_revokes_the_tokens_of_the_first(client, user, app):
    # As for authorization codes (RFC 6749 §4.1.2): the code may have been stolen.
    body = start(client, app)
    answer(client, user, body["user_code"])
    tokens = poll(client, app, body["device_code"]).json()

    assert_oauth_error(poll(client, app, body["device_code"]), "invalid_grant")

    assert AccessToken.objects.count() == 1
    assert not AccessToken.objects.active().exists()
    assert not RefreshToken.objects.filter(revoked_at__isnull=True).exists()
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert_oauth_error(token_request(client, app, refresh), "invalid_grant")


def test_another_clients_device_code_is_invalid_grant(client, user, app):
    body = start(client, app)
    answer(client, user, body["user_code"])
    other = device_app(name="Other TV")

    assert_oauth_error(poll(client, other, body["device_code"]), "invalid_grant")

    # Nothing was consumed or recorded for the rightful client.
    record = the_authorization()
    assert record.used_at is None and record.last_polled_at is None
    assert poll(client, app, body["device_code"]).status_code == 200


@pytest.mark.parametrize("value", [None, "", "not-a-device-code"])
def test_missing_or_unknown_device_code(client, app, value):
    response = poll(client, app, value)
    assert_oauth_error(response, "invalid_grant" if value else "invalid_request")


def test_client_no_longer_allowed_the_grant_is_unauthorized_client(client, user, app):
    body = start(client, app)
    answer(client, user, body["user_code"])
    app.grant_types = ["refresh_token"]
    app.save()
    assert_oauth_error(poll(client, app, body["device_code"]), "unauthorized_client")


def test_confidential_client_polls_with_its_secret(client, user):
    app = ClientFactory(grant_types=[DEVICE_GRANT])
    body = start(client, app, scope="read")
    answer(client, user, body["user_code"])
    response = post_form(
        client, "/o/token/", {"grant_type": DEVICE_GRANT, "device_code": body["device_code"]}
    )
    assert_oauth_error(response, "invalid_client", 401)
    assert poll(client, app, body["device_code"]).status_code == 200


def test_inactive_user_gets_no_tokens(client, app):
    someone = UserFactory(username="bob")
    body = start(client, app)
    answer(client, someone, body["user_code"])
    someone.is_active = False
    someone.save()
    assert_oauth_error(poll(client, app, body["device_code"]), "invalid_grant")


# --- Cost of a poll (ARCHITECTURE principle 4) -------------------------------------------------


def test_pending_poll_costs_at_most_2_queries(client, app, django_assert_max_num_queries):
    body = start(client, app)
    key_ring.signing_key()
    poll(client, app, body["device_code"])  # the client is cached from here on
    age(the_authorization(), seconds=10)

    # The authorization, then the UPDATE recording the poll, in the failure's own
    # transaction (a rolled-back savepoint and a second one: 5 control statements).
    with django_assert_max_num_queries(2 + 5), CaptureQueriesContext(connection) as captured:
        response = poll(client, app, body["device_code"])
    data = [q["sql"] for q in captured if not q["sql"].upper().startswith(TRANSACTION_CONTROL)]
    assert len(data) <= 2, data

    assert_oauth_error(response, "authorization_pending")


def test_successful_poll_costs_at_most_6_queries(client, user, app, django_assert_max_num_queries):
    body = start(client, app, scope="read")
    answer(client, user, body["user_code"])
    key_ring.signing_key()
    key_ring.verification_keys()

    # client, authorization (+ user), consume UPDATE, INSERT access, INSERT refresh (+ spare).
    with data_queries_at_most(6, django_assert_max_num_queries):
        response = poll(client, app, body["device_code"])

    assert response.status_code == 200, response.content
