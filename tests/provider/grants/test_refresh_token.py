"""Refresh token grant through /o/token/ (RFC 6749 §6, RFC 9700 §4.14.2)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from oauthkit.provider import signals
from oauthkit.provider.models import RefreshToken
from oauthkit.testing.factories import ClientFactory, RefreshTokenFactory
from tests.helpers import assert_oauth_error, basic_auth, get_code, post_form, redeem

pytestmark = pytest.mark.django_db


def first_pair(http, user, oauth_client, scope: str = "read write") -> dict:
    """Tokens from a real code flow: the start of a refresh-token family."""
    http.force_login(user)
    code, verifier = get_code(http, oauth_client, scope=scope)
    response = redeem(http, oauth_client, code, verifier)
    assert response.status_code == 200, response.content
    return response.json()


def refresh(http, oauth_client, refresh_token: str, **extra):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    if oauth_client.is_public:
        return post_form(http, "/o/token/", {"client_id": oauth_client.client_id, **data})
    return post_form(http, "/o/token/", data, **basic_auth(oauth_client))


def is_active(http, oauth_client, token: str) -> bool:
    response = post_form(http, "/o/introspect/", {"token": token}, **basic_auth(oauth_client))
    assert response.status_code == 200, response.content
    return response.json()["active"]


def test_refresh_returns_a_new_pair_and_the_chain_continues(client, user, oauth_client):
    pair = first_pair(client, user, oauth_client)

    response = refresh(client, oauth_client, pair["refresh_token"])

    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "read write"
    # RFC 9700 §4.14.2: rotation gives a new refresh token each time.
    assert body["refresh_token"] != pair["refresh_token"]
    assert body["access_token"] != pair["access_token"]
    assert is_active(client, oauth_client, body["access_token"])
    assert refresh(client, oauth_client, body["refresh_token"]).status_code == 200


def test_reused_refresh_token_is_refused_and_revokes_the_whole_family(client, user, oauth_client):
    pair = first_pair(client, user, oauth_client)
    second = refresh(client, oauth_client, pair["refresh_token"]).json()
    reused = []
    signals.refresh_token_reused.connect(
        lambda **kw: reused.append(kw["grant_id"]), weak=False, dispatch_uid="t-reuse"
    )
    try:
        response = refresh(client, oauth_client, pair["refresh_token"])
    finally:
        signals.refresh_token_reused.disconnect(dispatch_uid="t-reuse")

    assert_oauth_error(response, "invalid_grant")
    # RFC 9700 §4.14.2: reuse of a rotated token revokes every token of the family.
    assert_oauth_error(refresh(client, oauth_client, second["refresh_token"]), "invalid_grant")
    assert not is_active(client, oauth_client, pair["access_token"])
    assert not is_active(client, oauth_client, second["access_token"])
    assert not is_active(client, oauth_client, second["refresh_token"])
    assert len(reused) == 1


def test_scope_may_narrow_and_the_new_refresh_token_keeps_the_original_scope(
    client, user, oauth_client
):
    pair = first_pair(client, user, oauth_client, scope="read write")

    narrowed = refresh(client, oauth_client, pair["refresh_token"], scope="read")

    assert narrowed.status_code == 200, narrowed.content
    assert narrowed.json()["scope"] == "read"
    introspected = post_form(
        client,
        "/o/introspect/",
        {"token": narrowed.json()["access_token"]},
        **basic_auth(oauth_client),
    ).json()
    assert introspected["scope"] == "read"
    # RFC 6749 §6: the new refresh token has the scope of the one presented.
    full = refresh(client, oauth_client, narrowed.json()["refresh_token"])
    assert full.status_code == 200, full.content
    assert full.json()["scope"] == "read write"


@pytest.mark.parametrize("scope", ["read write profile", "profile"])
def test_scope_may_not_widen(client, user, oauth_client, scope):
    pair = first_pair(client, user, oauth_client, scope="read write")

    response = refresh(client, oauth_client, pair["refresh_token"], scope=scope)

    # RFC 6749 §6: no scope not originally granted.
    assert_oauth_error(response, "invalid_scope")
    # The refused request consumed nothing.
    assert refresh(client, oauth_client, pair["refresh_token"]).status_code == 200


def test_refresh_token_of_another_client_is_invalid_grant(client, user, oauth_client):
    pair = first_pair(client, user, oauth_client)
    thief = ClientFactory()

    response = refresh(client, thief, pair["refresh_token"])

    # RFC 6749 §6: the token is bound to the client it was issued to.
    assert_oauth_error(response, "invalid_grant")
    assert refresh(client, oauth_client, pair["refresh_token"]).status_code == 200


def test_expired_refresh_token_is_invalid_grant(client, user, oauth_client):
    pair = first_pair(client, user, oauth_client)
    RefreshToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_oauth_error(refresh(client, oauth_client, pair["refresh_token"]), "invalid_grant")


def test_revoked_refresh_token_is_invalid_grant(client, user, oauth_client):
    pair = first_pair(client, user, oauth_client)
    revoked = post_form(
        client, "/o/revoke/", {"token": pair["refresh_token"]}, **basic_auth(oauth_client)
    )
    assert revoked.status_code == 200

    assert_oauth_error(refresh(client, oauth_client, pair["refresh_token"]), "invalid_grant")


def test_unknown_refresh_token_is_invalid_grant(client, oauth_client):
    assert_oauth_error(refresh(client, oauth_client, "no-such-token"), "invalid_grant")


def test_missing_refresh_token_is_invalid_request(client, oauth_client):
    response = post_form(
        client, "/o/token/", {"grant_type": "refresh_token"}, **basic_auth(oauth_client)
    )
    assert_oauth_error(response, "invalid_request")


def test_without_rotation_no_new_refresh_token_and_the_same_one_keeps_working(
    client, user, oauth_client, settings
):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ROTATE_REFRESH_TOKENS": False}
    pair = first_pair(client, user, oauth_client)

    first = refresh(client, oauth_client, pair["refresh_token"])
    second = refresh(client, oauth_client, pair["refresh_token"])

    assert first.status_code == second.status_code == 200
    assert "refresh_token" not in first.json()
    assert "refresh_token" not in second.json()
    assert first.json()["access_token"] != second.json()["access_token"]
    assert is_active(client, oauth_client, pair["refresh_token"])


def test_public_client_refreshes_with_client_id_only(client, user, public_client):
    pair = first_pair(client, user, public_client, scope="read")

    response = refresh(client, public_client, pair["refresh_token"])

    assert response.status_code == 200, response.content
    assert response.json()["refresh_token"] != pair["refresh_token"]


def test_public_client_refresh_tokens_rotate_even_with_rotation_off(
    client, user, public_client, settings
):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ROTATE_REFRESH_TOKENS": False}
    pair = first_pair(client, user, public_client, scope="read")

    response = refresh(client, public_client, pair["refresh_token"])

    # RFC 9700 §4.14.2: a public client's refresh tokens are rotated with reuse detection.
    assert response.status_code == 200, response.content
    assert response.json()["refresh_token"] != pair["refresh_token"]
    assert_oauth_error(refresh(client, public_client, pair["refresh_token"]), "invalid_grant")
    assert_oauth_error(
        refresh(client, public_client, response.json()["refresh_token"]), "invalid_grant"
    )


def test_public_client_refresh_without_client_id_is_invalid_client(client, user, public_client):
    pair = first_pair(client, user, public_client, scope="read")

    response = post_form(
        client, "/o/token/", {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
    )

    assert_oauth_error(response, "invalid_client", status=401)


def test_client_without_the_refresh_token_grant_is_unauthorized_client(client):
    no_refresh = ClientFactory(grant_types=["authorization_code"])
    token = RefreshTokenFactory(client=no_refresh)

    response = refresh(client, no_refresh, token.raw_token)

    # RFC 6749 §5.2 unauthorized_client; nothing is rotated.
    assert_oauth_error(response, "unauthorized_client")
    token.refresh_from_db()
    assert token.rotated_at is None


def test_a_deactivated_users_tokens_stop_working(client, user, oauth_client):
    pair = first_pair(client, user, oauth_client)
    user.is_active = False
    user.save()

    assert_oauth_error(refresh(client, oauth_client, pair["refresh_token"]), "invalid_grant")
    assert not is_active(client, oauth_client, pair["access_token"])
    assert not is_active(client, oauth_client, pair["refresh_token"])


def test_refresh_drops_scopes_the_client_may_no_longer_request(client, user, oauth_client):
    pair = first_pair(client, user, oauth_client, scope="read write")
    oauth_client.scopes = ["read"]
    oauth_client.save()

    body = refresh(client, oauth_client, pair["refresh_token"]).json()

    assert body["scope"] == "read"
    # The new refresh token carries only what is still allowed.
    assert RefreshToken.objects.get(rotated_at__isnull=True).scope == "read"


def test_refresh_fails_when_the_client_lost_every_scope_of_the_grant(client, user, oauth_client):
    pair = first_pair(client, user, oauth_client, scope="read")
    oauth_client.scopes = ["write"]
    oauth_client.save()

    assert_oauth_error(refresh(client, oauth_client, pair["refresh_token"]), "invalid_grant")
