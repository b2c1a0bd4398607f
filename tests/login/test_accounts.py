"""Linked accounts: sign-up, sign-in again, linking by verified email, connecting and
disconnecting providers, and the signals that report each."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from oauthkit.login import signals
from oauthkit.login.models import (
    LinkedAccount,
    PendingLogin,
    ProviderConfiguration,
    StoredToken,
)
from oauthkit.testing.factories import UserFactory

from .conftest import (
    DEFAULT_ADAPTER,
    IDP,
    assert_error_page,
    callback,
    set_login,
    set_provider,
    sign_in,
    start,
)

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def caught():
    """Signals received during the test, as (name, kwargs)."""
    received = []

    def receiver(name):
        def handle(sender, **kwargs):
            received.append((name, kwargs))

        return handle

    handlers = {
        name: receiver(name) for name in ("signed_in", "account_linked", "account_unlinked")
    }
    for name, handler in handlers.items():
        getattr(signals, name).connect(handler)
    yield received
    for name, handler in handlers.items():
        getattr(signals, name).disconnect(handler)


def test_first_sign_in_creates_a_user_without_password(client, idp, caught):
    assert sign_in(client, idp).status_code == 302
    account = LinkedAccount.objects.get()
    user = account.user
    assert user.username == "rp-pat"
    assert user.email == "pat@example.com"  # verified by the provider
    assert (user.first_name, user.last_name) == ("Pat", "Doe")
    assert not user.has_usable_password()
    assert account.provider == "fake" and account.email == "pat@example.com"
    assert account.profile["name"] == "Pat Doe"
    assert [name for name, _ in caught] == ["account_linked", "signed_in"]
    assert caught[1][1]["created"] is True


def test_second_sign_in_finds_the_same_user(client, idp, caught):
    sign_in(client, idp)
    client.logout()
    idp.claims["email"] = "pat@new.example"
    sign_in(client, idp)
    assert User.objects.count() == 1
    account = LinkedAccount.objects.get()
    assert account.email == "pat@new.example"  # profile refreshed
    assert caught[-1][0] == "signed_in" and caught[-1][1]["created"] is False


def test_auto_signup_off_refuses_unknown_accounts(client, idp, settings):
    set_login(settings, AUTO_SIGNUP=False)
    assert_error_page(sign_in(client, idp), "signup_closed", status=403)
    assert not User.objects.exists()


def test_auto_signup_off_still_signs_in_linked_accounts(client, idp, settings):
    sign_in(client, idp)
    client.logout()
    set_login(settings, AUTO_SIGNUP=False)
    assert sign_in(client, idp).status_code == 302


def test_link_by_verified_email_when_allowed(client, idp, settings):
    existing = UserFactory(username="pat-local", email="pat@example.com")
    set_login(settings, LINK_BY_VERIFIED_EMAIL=True)
    sign_in(client, idp)
    assert LinkedAccount.objects.get().user == existing
    assert int(client.session["_auth_user_id"]) == existing.pk


def test_no_link_by_unverified_email(client, idp, settings):
    # Account takeover: anyone can register the victim's address at some provider.
    existing = UserFactory(username="pat-local", email="pat@example.com")
    set_login(settings, LINK_BY_VERIFIED_EMAIL=True)
    idp.claims["email_verified"] = False
    sign_in(client, idp)
    assert LinkedAccount.objects.get().user != existing
    assert User.objects.get(username="rp-pat").email == ""  # unverified: not copied


def test_no_link_by_email_unless_the_site_allows_it(client, idp):
    existing = UserFactory(username="pat-local", email="pat@example.com")
    sign_in(client, idp)
    assert LinkedAccount.objects.get().user != existing


def test_username_clash_form_validates(client, idp, settings):
    set_login(settings, ADAPTER=DEFAULT_ADAPTER)
    UserFactory(username="pat")
    assert sign_in(client, idp)["Location"] == "/accounts/oauth/signup/"
    page = client.get("/accounts/oauth/signup/")
    assert page["X-Frame-Options"] == "DENY"
    assert client.post("/accounts/oauth/signup/", {"username": "bad name!"}).status_code == 200
    assert client.post("/accounts/oauth/signup/", {"username": "PAT"}).status_code == 200
    assert client.post("/accounts/oauth/signup/", {"username": "pat_2"}).status_code == 302
    assert LinkedAccount.objects.get().user.username == "pat_2"


def test_connect_a_second_provider(client, idp, settings, caught):
    user = UserFactory(username="sam")
    client.force_login(user)
    set_provider(settings, "other", kind="oidc", issuer=IDP, client_id="rp-client")
    response = client.post("/accounts/oauth/other/connect/")
    assert response.status_code == 302
    from .conftest import query_of

    params = query_of(response["Location"])
    idp.nonce = params["nonce"]
    done = callback(client, params, slug="other")
    assert done["Location"] == "/accounts/oauth/"
    account = LinkedAccount.objects.get()
    assert account.user == user and account.provider == "other"
    assert [name for name, _ in caught] == ["account_linked"]
    page = client.get("/accounts/oauth/")
    assert "Account connected." in page.content.decode()


def test_connect_needs_sign_in(client, idp):
    response = client.post("/accounts/oauth/fake/connect/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_connect_refuses_an_account_linked_to_someone_else(client, idp):
    sign_in(client, idp)  # links idp-user-1 to rp-pat
    client.logout()
    client.force_login(UserFactory(username="sam"))
    response = client.post("/accounts/oauth/fake/connect/")
    from .conftest import query_of

    params = query_of(response["Location"])
    idp.nonce = params["nonce"]
    assert_error_page(callback(client, params), "linked_elsewhere", status=403)
    assert LinkedAccount.objects.get().user.username == "rp-pat"


def test_connections_page_lists_and_protects_the_last_login(client, idp):
    sign_in(client, idp)
    page = client.get("/accounts/oauth/")
    body = page.content.decode()
    assert page.status_code == 200 and page["X-Frame-Options"] == "DENY"
    assert "Fake IdP" in body and "pat@example.com" in body
    assert "cannot be disconnected" in body
    account = LinkedAccount.objects.get()
    response = client.post(f"/accounts/oauth/disconnect/{account.pk}/")
    assert response.status_code == 302
    assert LinkedAccount.objects.filter(pk=account.pk).exists()  # the only way in


def test_disconnect_with_a_password_revokes_and_signals(client, idp, caught):
    sign_in(client, idp)
    account = LinkedAccount.objects.get()
    user = account.user
    user.set_password("password")
    user.save()
    client.force_login(user)
    response = client.post(f"/accounts/oauth/disconnect/{account.pk}/")
    assert response["Location"] == "/accounts/oauth/"
    assert not LinkedAccount.objects.exists() and not StoredToken.objects.exists()
    revoked = [r.body for r in idp.calls("/revoke")]
    assert any("token=rt-1" in body for body in revoked)  # RFC 7009
    assert caught[-1][0] == "account_unlinked"


def test_disconnect_with_two_links_is_allowed(client, idp, settings):
    sign_in(client, idp)
    user = LinkedAccount.objects.get().user
    LinkedAccount.objects.create(user=user, provider="other", subject="x")
    client.force_login(user)
    first = LinkedAccount.objects.get(provider="fake")
    client.post(f"/accounts/oauth/disconnect/{first.pk}/")
    assert list(LinkedAccount.objects.values_list("provider", flat=True)) == ["other"]


def test_cannot_disconnect_someone_elses_account(client, idp):
    sign_in(client, idp)
    account = LinkedAccount.objects.get()
    client.force_login(UserFactory(username="mallory"))
    assert client.post(f"/accounts/oauth/disconnect/{account.pk}/").status_code == 404


def test_disconnect_needs_post(client, idp):
    sign_in(client, idp)
    account = LinkedAccount.objects.get()
    assert client.get(f"/accounts/oauth/disconnect/{account.pk}/").status_code == 405


def test_unique_per_provider_and_subject(db):
    from django.db import IntegrityError

    user = UserFactory()
    LinkedAccount.objects.create(user=user, provider="p", subject="s")
    with pytest.raises(IntegrityError):
        LinkedAccount.objects.create(user=UserFactory(), provider="p", subject="s")


def test_admin_row_wins_over_settings_and_stores_secret_encrypted(client, idp):
    row = ProviderConfiguration(slug="fake", kind="oidc", issuer=IDP, client_id="from-admin")
    row.client_secret = "admin-secret"
    row.save()
    assert "admin-secret" not in row.client_secret_encrypted
    params = start(client, idp)
    assert params["client_id"] == "from-admin"
    callback(client, params)
    form = idp.calls("/token")[0]
    import base64

    assert base64.b64decode(form.headers["Authorization"].split()[1]) == b"from-admin:admin-secret"


def test_disabled_admin_row_hides_the_provider(client, idp):
    ProviderConfiguration.objects.create(slug="fake", client_id="x", enabled=False)
    assert client.post("/accounts/oauth/fake/login/").status_code == 404


def test_buttons_tag_renders_post_forms(rf, idp):
    from django.middleware.csrf import get_token
    from django.template import RequestContext, Template

    request = rf.get("/", {"next": "/dashboard/"})
    get_token(request)
    html = Template("{% load oauthkit_login %}{% oauthkit_login_buttons %}").render(
        RequestContext(request)
    )
    assert '<form method="post" action="/accounts/oauth/fake/login/">' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<input type="hidden" name="next" value="/dashboard/">' in html
    assert "Sign in with Fake IdP" in html


def test_get_on_login_only_shows_a_continue_page(client, idp):
    # A link from another site must not start a sign-in by itself.
    page = client.get("/accounts/oauth/fake/login/", {"next": "/x/"})
    assert page.status_code == 200 and page["X-Frame-Options"] == "DENY"
    body = page.content.decode()
    assert '<form method="post">' in body and 'value="/x/"' in body
    assert not idp.requests and not PendingLogin.objects.exists()


def test_login_on_get_when_the_site_allows_it(client, idp, settings):
    set_login(settings, LOGIN_ON_GET=True)
    response = client.get("/accounts/oauth/fake/login/")
    assert response.status_code == 302 and response["Location"].startswith(IDP + "/authorize?")


def test_login_post_needs_csrf_token(idp):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/accounts/oauth/fake/login/").status_code == 403


def test_admin_row_with_unreadable_secret_is_unusable_not_a_crash(client, idp, settings):
    row = ProviderConfiguration(slug="fake", kind="oidc", issuer=IDP, client_id="from-admin")
    row.client_secret = "admin-secret"
    row.save()
    set_login(settings, TOKEN_ENCRYPTION_KEYS=["a-brand-new-key-" + "n" * 32])
    assert client.post("/accounts/oauth/fake/login/").status_code == 404
    assert client.get("/").status_code == 404  # nothing else broke


def test_admin_adds_a_provider_with_an_encrypted_secret(client, idp):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.post(
        "/admin/oauthkit_login/providerconfiguration/add/",
        {
            "slug": "corp",
            "name": "Corp",
            "kind": "oidc",
            "issuer": IDP,
            "client_id": "corp-client",
            "client_secret": "corp-secret",
            "scopes": "[]",
            "settings": "{}",
            "token_endpoint_auth_method": "",
            "enabled": "on",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    row = ProviderConfiguration.objects.get(slug="corp")
    assert "corp-secret" not in row.client_secret_encrypted
    assert row.client_secret == "corp-secret"
    change = client.get(f"/admin/oauthkit_login/providerconfiguration/{row.pk}/change/")
    assert "corp-secret" not in change.content.decode()  # write-only
    assert start(client, idp, slug="corp")["client_id"] == "corp-client"


def test_system_check_reports_a_broken_provider(settings, idp):
    from oauthkit.login.checks import check_providers

    set_provider(settings, "broken", kind="oidc", client_id="x")  # no issuer
    errors = check_providers()
    assert [e.id for e in errors] == ["oauthkit.login.E101"]
    assert errors[0].obj == "broken"


def test_system_check_warns_without_encryption_keys(settings):
    from oauthkit.login.checks import check_encryption_keys, check_encryption_keys_set

    set_login(settings, TOKEN_ENCRYPTION_KEYS=[])
    assert [w.id for w in check_encryption_keys_set()] == ["oauthkit.login.W101"]
    set_login(settings, TOKEN_ENCRYPTION_KEYS=["k" * 40])
    assert check_encryption_keys_set() == [] and check_encryption_keys() == []
    set_login(settings, TOKEN_ENCRYPTION_KEYS=["short"])
    assert [e.id for e in check_encryption_keys()] == ["oauthkit.login.E102"]
