"""A user's new password revokes their tokens (RFC 9700 §4.14.2), through whatever saves it:
``set_password()`` + ``save()``, Django's password change view, ``SetPasswordForm``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.hashers import make_password
from django.urls import path

from oauthkit.provider import signals
from oauthkit.provider.models import AccessToken, RefreshToken
from oauthkit.testing.factories import ClientFactory, UserFactory
from tests.helpers import (
    assert_oauth_error,
    basic_auth,
    bearer,
    get_code,
    log_in_through_form,
    post_form,
    redeem,
    token_request,
)
from tests.provider._device import answer, device_app, poll, start
from tests.resource.api import urlpatterns as api_urlpatterns
from tests.resource.helpers import ECHO, assert_invalid_token, configure

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

urlpatterns = [
    *api_urlpatterns,
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]

NEW_PASSWORD = "a-new-Passw0rd-nobody-knows"


def tokens_for(http, user, oauth_client, scope: str = "read") -> dict:
    """Access and refresh token from a real authorization code flow."""
    http.force_login(user)
    code, verifier = get_code(http, oauth_client, scope=scope)
    response = redeem(http, oauth_client, code, verifier)
    assert response.status_code == 200, response.content
    http.logout()
    body = response.json()
    assert body["refresh_token"]
    return body


def refresh(http, oauth_client, refresh_token: str):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return token_request(http, oauth_client, data)


def introspect(http, oauth_client, token: str) -> dict:
    response = post_form(http, "/o/introspect/", {"token": token}, **basic_auth(oauth_client))
    assert response.status_code == 200, response.content
    return response.json()


def change_password(user) -> None:
    user.set_password(NEW_PASSWORD)
    user.save()


@pytest.fixture
def revocations():
    """The ``token_revoked`` signals sent during the test, as dicts of their arguments."""
    sent: list[dict] = []

    def receive(sender, **kwargs):
        kwargs.pop("signal")
        sent.append(kwargs)

    signals.token_revoked.connect(receive)
    yield sent
    signals.token_revoked.disconnect(receive)


def test_the_refresh_token_is_refused_after_a_password_change(client, user, oauth_client):
    pair = tokens_for(client, user, oauth_client)
    assert refresh(client, oauth_client, pair["refresh_token"]).status_code == 200
    pair = tokens_for(client, user, oauth_client)

    change_password(user)

    assert_oauth_error(refresh(client, oauth_client, pair["refresh_token"]), "invalid_grant")


def test_the_access_token_is_refused_by_apis_and_introspection(client, user, oauth_client):
    pair = tokens_for(client, user, oauth_client)
    assert client.get(ECHO, **bearer(pair["access_token"])).status_code == 200
    assert introspect(client, oauth_client, pair["access_token"])["active"] is True

    change_password(user)

    assert_invalid_token(client.get(ECHO, **bearer(pair["access_token"])))
    assert introspect(client, oauth_client, pair["access_token"]) == {"active": False}
    assert introspect(client, oauth_client, pair["refresh_token"]) == {"active": False}


def test_apis_checking_the_shared_revocation_list_refuse_the_access_token(
    client, user, oauth_client, settings
):
    # No SQL sees the revocation on this path: it must reach the list (REVOCATION_CACHE).
    configure(
        settings,
        {
            "REVOCATION_CHECK": "cache",
            "CACHE": "default",
            "REVOCATION_CHECK_INTERVAL": timedelta(0),
        },
        REVOCATION_CACHE="default",
    )
    pair = tokens_for(client, user, oauth_client)
    assert client.get(ECHO, **bearer(pair["access_token"])).status_code == 200

    change_password(user)

    assert_invalid_token(client.get(ECHO, **bearer(pair["access_token"])))


def test_every_client_is_revoked_and_told_once_with_the_reason(
    client, user, oauth_client, revocations
):
    other_app = ClientFactory(name="Other App")
    tokens_for(client, user, oauth_client)
    tokens_for(client, user, other_app)

    change_password(user)

    assert sorted((r["client"].pk, r["reason"], r["count"]) for r in revocations) == sorted(
        [(oauth_client.pk, "password_changed", 2), (other_app.pk, "password_changed", 2)]
    )
    assert all(r["grant_id"] is None for r in revocations)
    assert not AccessToken.objects.filter(revoked_at__isnull=True).exists()
    assert not RefreshToken.objects.filter(revoked_at__isnull=True).exists()


def test_other_users_keep_their_tokens(client, user, oauth_client):
    bob = UserFactory(username="bob")
    bobs = tokens_for(client, bob, oauth_client)

    change_password(user)

    assert refresh(client, oauth_client, bobs["refresh_token"]).status_code == 200


def test_tokens_issued_after_the_change_work(client, user, oauth_client):
    tokens_for(client, user, oauth_client)
    change_password(user)

    pair = tokens_for(client, user, oauth_client)

    assert client.get(ECHO, **bearer(pair["access_token"])).status_code == 200
    assert refresh(client, oauth_client, pair["refresh_token"]).status_code == 200


def test_an_unused_code_can_no_longer_be_redeemed(client, user, oauth_client):
    client.force_login(user)
    code, verifier = get_code(client, oauth_client)

    change_password(user)

    assert_oauth_error(redeem(client, oauth_client, code, verifier), "invalid_grant")


def test_an_approved_device_code_no_longer_gives_tokens(client, user):
    tv = device_app()
    started = start(client, tv)
    answer(client, user, started["user_code"])

    change_password(user)

    assert_oauth_error(poll(client, tv, started["device_code"]), "access_denied")


def test_the_setting_off_keeps_the_tokens(client, user, oauth_client, settings, revocations):
    configure(settings, REVOKE_TOKENS_ON_PASSWORD_CHANGE=False)
    pair = tokens_for(client, user, oauth_client)

    change_password(user)

    assert client.get(ECHO, **bearer(pair["access_token"])).status_code == 200
    assert introspect(client, oauth_client, pair["access_token"])["active"] is True
    assert refresh(client, oauth_client, pair["refresh_token"]).status_code == 200
    assert revocations == []


def test_djangos_password_change_view_revokes_the_tokens(client, user, oauth_client):
    pair = tokens_for(client, user, oauth_client)
    client.force_login(user)

    response = client.post(
        "/accounts/password/",
        {"old_password": "password", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302, response.content
    assert response["Location"] == "/accounts/password/done/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert_oauth_error(refresh(client, oauth_client, pair["refresh_token"]), "invalid_grant")
    assert_invalid_token(client.get(ECHO, **bearer(pair["access_token"])))


def test_set_password_form_revokes_the_tokens(client, user, oauth_client):
    # The form of the password reset and admin password pages.
    pair = tokens_for(client, user, oauth_client)
    form = SetPasswordForm(user, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert form.is_valid(), form.errors

    form.save()

    assert_oauth_error(refresh(client, oauth_client, pair["refresh_token"]), "invalid_grant")


def test_a_save_without_a_new_password_costs_only_the_update(
    user, django_assert_num_queries, revocations
):
    user.first_name = "Alice"
    with django_assert_num_queries(1) as captured:
        user.save()

    assert captured.captured_queries[0]["sql"].startswith("UPDATE")
    assert revocations == []


def test_a_password_rehash_on_sign_in_is_not_a_change(client, user, oauth_client, settings):
    # check_password() rewrites a hash made by an older hasher through set_password() +
    # save(); Django clears `_password` first, so this is no change of password.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    ]
    user.password = make_password("password", hasher="pbkdf2_sha1")
    user.save()
    pair = tokens_for(client, user, oauth_client)

    log_in_through_form(client, "/accounts/password/done/")

    user.refresh_from_db()
    assert user.password.startswith("md5$")  # the hash was upgraded
    assert refresh(client, oauth_client, pair["refresh_token"]).status_code == 200


def test_a_new_user_with_a_password_costs_no_revocation_query(django_assert_num_queries):
    # The pattern of sign-up views: a new user has no tokens to revoke.
    carol = get_user_model()(username="carol")
    carol.set_password("password")

    with django_assert_num_queries(1) as captured:
        carol.save()

    assert captured.captured_queries[0]["sql"].startswith("INSERT")
