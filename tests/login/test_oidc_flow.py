"""Signing in with OpenID Connect, end to end.

The relying party is driven with the Django test client; the provider is oauthkit's own,
on the live server, reached over real HTTP (discovery, authorize in a ``requests``
browser, token, JWKS, userinfo). The state and issuer checks run against the scripted
provider of conftest.py, where the answers can be forged.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from django.urls import path

from oauthkit.login.models import LinkedAccount, PendingLogin, StoredToken
from oauthkit.login.tokens import get_access_token
from oauthkit.login.views import whoami
from oauthkit.testing.factories import UserFactory
from tests.urls import urlpatterns as base_urlpatterns

from .conftest import (
    DEFAULT_ADAPTER,
    IDP,
    assert_error_page,
    browser_authorize,
    callback,
    query_of,
    set_login,
    set_provider,
    start,
)

urlpatterns = [*base_urlpatterns, path("accounts/whoami/", whoami)]
#: A returning sign-in: provider config, pending request (read, consume), linked account with
#: its user, tokens, Django's login (session rotation, last_login, the provider app's session
#: receivers) and the provider session record; measured 24 (savepoints counted).
MAX_CALLBACK_QUERIES = 24


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls(__name__)
def test_sign_in_with_oauthkit_provider_end_to_end(client, live_provider, live_server):
    person = UserFactory(username="provider-pat", email="pat@example.com", first_name="Pat")
    response = client.post("/accounts/oauth/demo/login/", {"next": "/after/"})
    assert response.status_code == 302
    authorize = response["Location"]
    assert authorize.startswith(live_server.url + "/o/authorize/")
    params = query_of(authorize)
    assert params["code_challenge_method"] == "S256"
    assert params["state"] and params["nonce"] and params["code_challenge"]
    assert params["redirect_uri"] == "http://testserver/accounts/oauth/demo/callback/"

    location = browser_authorize(authorize, person)
    assert location.startswith("http://testserver/accounts/oauth/demo/callback/?")
    assert query_of(location)["iss"] == live_server.url  # RFC 9207
    split = urlsplit(location)
    done = client.get(split.path + "?" + split.query)
    assert done.status_code == 302, done.content[:800]
    assert done["Location"] == "/after/"

    body = client.get("/accounts/whoami/").json()
    account = LinkedAccount.objects.get(provider="demo")
    assert body == {
        "username": "rp-provider-pat",  # conftest's adapter prefixes usernames
        # oauthkit's provider does not claim email_verified: an unverified address is kept
        # on the link but not given to the new user (no pre-hijack through email linking).
        "email": "",
        "linked_accounts": [
            {"provider": "demo", "subject": account.subject, "email": "pat@example.com"}
        ],
    }
    assert account.user.first_name == "Pat"
    assert not account.user.has_usable_password()


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls(__name__)
def test_username_clash_gets_the_short_form(client, live_provider, live_server, settings):
    # Provider and relying party share this user table, so the provider's own username
    # is always taken here: the person picks another on the sign-up form.
    set_login(settings, ADAPTER=DEFAULT_ADAPTER)
    person = UserFactory(username="provider-lee", email="lee@example.com")
    authorize = client.post("/accounts/oauth/demo/login/", {"next": "/after/"})["Location"]
    split = urlsplit(browser_authorize(authorize, person))
    done = client.get(split.path + "?" + split.query)
    assert done["Location"] == "/accounts/oauth/signup/"
    form = client.get("/accounts/oauth/signup/")
    assert 'value="provider-lee"' in form.content.decode()
    assert '<label for="id_username">' in form.content.decode()
    taken = client.post("/accounts/oauth/signup/", {"username": "provider-lee"})
    assert taken.status_code == 200 and "taken" in taken.content.decode()
    finished = client.post("/accounts/oauth/signup/", {"username": "lee2"})
    assert finished["Location"] == "/after/"
    assert client.get("/accounts/whoami/").json()["username"] == "lee2"
    assert client.get("/accounts/oauth/signup/").status_code == 400  # used up


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls(__name__)
def test_stored_token_calls_the_provider_and_is_encrypted(client, live_provider, live_server):
    person = UserFactory(username="provider-kim", email="kim@example.com")
    authorize = client.post("/accounts/oauth/demo/login/")["Location"]
    split = urlsplit(browser_authorize(authorize, person))
    client.get(split.path + "?" + split.query)
    account = LinkedAccount.objects.get(provider="demo")
    stored = StoredToken.objects.get(account=account)
    access = get_access_token(account.user, "demo")
    assert access not in stored.access_token_encrypted  # encrypted at rest
    assert stored.refresh_token  # offline_access gave one
    info = requests.get(
        live_server.url + "/o/userinfo/", headers={"Authorization": f"Bearer {access}"}, timeout=10
    )
    assert info.status_code == 200
    assert info.json()["sub"] == account.subject


def test_whoami_without_session_is_401(client, db, settings):
    settings.ROOT_URLCONF = __name__
    assert client.get("/accounts/whoami/").status_code == 401


# -- state and issuer checks (scripted provider) ------------------------------------------

pytestmark = pytest.mark.django_db


def test_authorization_request_has_state_nonce_and_pkce(client, idp):
    params = start(client, idp)
    assert params["response_type"] == "code"
    assert params["client_id"] == "rp-client"
    assert params["scope"].split() == ["openid", "email", "profile"]
    assert params["code_challenge_method"] == "S256"
    assert len(params["state"]) >= 43 and len(params["nonce"]) >= 43
    pending = PendingLogin.objects.get()
    assert pending.expected_issuer == IDP
    assert params["state"] not in pending.state_hash  # only a hash is stored


def test_good_answer_signs_in(client, idp):
    params = start(client, idp, next_url="/welcome/")
    response = callback(client, params)
    assert response.status_code == 302
    assert response["Location"] == "/welcome/"
    assert client.session["_auth_user_id"]


def test_offsite_next_is_ignored(client, idp, settings):
    settings.LOGIN_REDIRECT_URL = "/home/"
    response = callback(client, start(client, idp, next_url="https://evil.example/"))
    assert response["Location"] == "/home/"


def test_state_missing_is_rejected(client, idp):
    params = start(client, idp)
    assert_error_page(callback(client, params, state=None), "state_missing")
    assert not idp.calls("/token")


def test_state_reused_is_rejected(client, idp):
    params = start(client, idp)
    assert callback(client, params).status_code == 302
    client.logout()
    # logout flushed the session: sign the same browser binding back in for the replay.
    assert_error_page(callback(client, params), "state_other_browser")


def test_state_reused_in_same_browser_is_rejected(client, idp):
    params = start(client, idp)
    assert callback(client, params, error="access_denied").status_code == 400
    assert_error_page(callback(client, params), "state_reused")
    assert not idp.calls("/token")


def test_state_from_another_browser_is_rejected(client, idp, django_user_model):
    from django.test import Client

    params = start(client, idp)  # the attacker's browser starts
    victim = Client()
    victim.post("/accounts/oauth/fake/login/")  # the victim has a session of their own
    assert_error_page(callback(victim, params), "state_other_browser")
    # The refusal did not use the state up: its own browser still finishes.
    assert callback(client, params).status_code == 302


def test_unknown_state_is_rejected(client, idp):
    start(client, idp)
    assert_error_page(callback(client, {"state": "forged"}), "state_unknown")


def test_expired_pending_request_is_rejected(client, idp):
    from datetime import timedelta

    from django.utils import timezone

    params = start(client, idp)
    PendingLogin.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error_page(callback(client, params), "state_expired")
    start(client, idp)  # starting another sign-in clears expired requests
    assert PendingLogin.objects.count() == 1


def test_issuer_mismatch_is_rejected(client, idp):
    # RFC 9207 / RFC 9700 §4.4: an answer claiming to come from another provider.
    params = start(client, idp)
    assert_error_page(callback(client, params, iss="https://attacker.example"), "issuer_mismatch")
    assert not idp.calls("/token")


def test_missing_iss_when_provider_promises_it_is_rejected(client, idp):
    idp.extra_metadata["authorization_response_iss_parameter_supported"] = True
    params = start(client, idp)
    assert_error_page(callback(client, params, iss=None), "iss_missing")


def test_missing_iss_is_accepted_when_provider_does_not_send_it(client, idp):
    assert callback(client, start(client, idp), iss=None).status_code == 302


@pytest.mark.parametrize("error", ["access_denied", "invalid_scope"])
def test_provider_error_ends_on_error_page(client, idp, error):
    params = start(client, idp, next_url="/x/")
    response = callback(client, params, code=None, error=error, error_description="Nope")
    assert_error_page(response, error)
    assert "Nope" in response.content.decode()
    assert "next=%2Fx%2F" in response.content.decode()  # retry keeps the destination


def test_token_endpoint_error_ends_on_error_page(client, idp):
    idp.token_error = (400, {"error": "invalid_grant"})
    assert_error_page(callback(client, start(client, idp)), "invalid_grant")


def test_timeout_at_token_endpoint_ends_on_error_page(client, idp):
    idp.raise_on["/token"] = requests.Timeout()
    assert_error_page(callback(client, start(client, idp)), "timeout", status=502)


def test_unreachable_provider_ends_on_error_page(client, idp):
    idp.raise_on["/.well-known/openid-configuration"] = requests.ConnectionError()
    assert_error_page(client.post("/accounts/oauth/fake/login/"), "provider_unavailable", 502)


def test_token_request_carries_pkce_verifier_and_basic_auth(client, idp):
    callback(client, start(client, idp))
    sent = idp.calls("/token")[0]
    form = query_of("?" + sent.body)
    assert form["grant_type"] == "authorization_code"
    assert form["redirect_uri"] == "http://testserver/accounts/oauth/fake/callback/"
    assert len(form["code_verifier"]) >= 43
    assert sent.headers["Authorization"].startswith("Basic ")
    assert "client_secret" not in form


def test_client_secret_post(client, idp, settings):
    set_provider(settings, token_endpoint_auth_method="client_secret_post")
    callback(client, start(client, idp))
    sent = idp.calls("/token")[0]
    form = query_of("?" + sent.body)
    assert form["client_id"] == "rp-client" and form["client_secret"] == "rp-secret"
    assert "Authorization" not in sent.headers


def test_private_key_jwt(client, idp, settings):
    from oauthkit import jose

    key = jose.generate_key("ES256")
    set_provider(
        settings,
        token_endpoint_auth_method="private_key_jwt",
        settings={"private_key": key.export_private()},
    )
    assert callback(client, start(client, idp)).status_code == 302
    form = query_of("?" + idp.calls("/token")[0].body)
    assert form["client_assertion_type"].endswith("jwt-bearer")
    _, claims = jose.verify(form["client_assertion"], {key["kid"]: key}, algs=("ES256",))
    assert claims["iss"] == claims["sub"] == "rp-client"
    assert claims["aud"] == IDP + "/token"


def test_form_post_callback_continues_as_get(client, idp):
    params = start(client, idp)
    response = client.post(
        "/accounts/oauth/fake/callback/", {"code": "c", "state": params["state"], "iss": IDP}
    )
    assert response.status_code == 303
    assert response["Location"].startswith("/accounts/oauth/fake/callback/?")
    final = client.get(response["Location"])
    assert final.status_code == 302


def test_unknown_provider_is_404(client, idp):
    assert client.post("/accounts/oauth/nope/login/").status_code == 404


def test_discovery_is_cached(client, idp):
    callback(client, start(client, idp))
    callback(client, start(client, idp))
    assert len(idp.calls("/.well-known/openid-configuration")) == 1
    assert len(idp.calls("/jwks")) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls(__name__)
def test_example_site_signs_into_itself_as_the_same_user(client, live_server, settings):
    """The example project's "Sign in with oauthkit demo": its own provider, its own user."""
    from oauthkit.testing.factories import ClientFactory

    from .conftest import login_settings

    settings.OAUTHKIT = {**settings.OAUTHKIT, "ISSUER": live_server.url}
    demo_client = ClientFactory(
        redirect_uris=["http://testserver/accounts/oauth/oauthkit-demo/callback/"]
    )
    login_settings(
        settings,
        {
            "oauthkit-demo": {
                "issuer": live_server.url,
                "client_id": demo_client.client_id,
                "client_secret": demo_client.raw_secret,
            }
        },
        ADAPTER="example_project.login_adapter.ExampleLoginAdapter",
    )
    demo = UserFactory(username="demo")
    authorize = client.post("/accounts/oauth/oauthkit-demo/login/")["Location"]
    split = urlsplit(browser_authorize(authorize, demo))
    assert client.get(split.path + "?" + split.query).status_code == 302
    assert client.get("/accounts/whoami/").json()["username"] == "demo"
    assert LinkedAccount.objects.get().user == demo


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls(__name__)
def test_the_login_side_authenticates_to_oauthkit_with_private_key_jwt(
    client, live_server, settings
):
    """Both sides of RFC 7523 from this project agree: oauthkit.login's client assertion is
    what oauthkit's provider accepts (OIDC Core §9)."""
    from oauthkit import jose
    from oauthkit.provider.models import Client, UsedClientAssertion
    from oauthkit.testing.factories import ClientFactory

    from .conftest import login_settings

    key = jose.generate_key("ES256")
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ISSUER": live_server.url}
    app = ClientFactory(
        redirect_uris=["http://testserver/accounts/oauth/partner/callback/"],
        token_endpoint_auth_method=Client.AuthMethod.PRIVATE_KEY_JWT,
        jwks={"keys": [jose.public_jwk(key)]},
    )
    login_settings(
        settings,
        {
            "partner": {
                "issuer": live_server.url,
                "client_id": app.client_id,
                "token_endpoint_auth_method": "private_key_jwt",
                "settings": {"private_key": key.export_private()},
            }
        },
    )
    person = UserFactory(username="partner-person")
    authorize = client.post("/accounts/oauth/partner/login/")["Location"]
    split = urlsplit(browser_authorize(authorize, person))

    assert client.get(split.path + "?" + split.query).status_code == 302
    assert client.get("/accounts/whoami/").status_code == 200
    assert UsedClientAssertion.objects.filter(client=app).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls(__name__)
def test_provider_logout_ends_the_relying_party_session(client, live_provider, live_server):
    """Back-channel logout between oauthkit's provider and oauthkit.login, over HTTP."""
    from oauthkit.provider import backchannel

    from .conftest import form_fields

    rp_backchannel = live_server.url + "/accounts/oauth/demo/backchannel-logout/"
    live_provider.backchannel_logout_uri = rp_backchannel
    live_provider.save()
    person = UserFactory(username="provider-ash")
    browser = requests.Session()
    authorize = client.post("/accounts/oauth/demo/login/")["Location"]
    split = urlsplit(browser_authorize(authorize, person, browser))
    client.get(split.path + "?" + split.query)
    assert client.get("/accounts/whoami/").status_code == 200

    # The person logs out at the provider; it tells the relying party (§2.5).
    end_session = live_server.url + "/o/end_session/"
    page = browser.get(end_session, params={"client_id": live_provider.client_id}, timeout=10)
    done = browser.post(end_session, [*form_fields(page.text), ("decision", "logout")], timeout=10)
    assert done.status_code == 200
    assert backchannel.wait_for_deliveries(10)
    assert client.get("/accounts/whoami/").status_code == 401


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls(__name__)
def test_rp_initiated_logout_is_accepted_by_the_provider(
    client, live_provider, live_server, settings
):
    set_login(settings, RP_LOGOUT=True)
    person = UserFactory(username="provider-max")
    browser = requests.Session()
    authorize = client.post("/accounts/oauth/demo/login/")["Location"]
    split = urlsplit(browser_authorize(authorize, person, browser))
    client.get(split.path + "?" + split.query)
    response = client.post("/accounts/oauth/logout/")
    assert response["Location"].startswith(live_server.url + "/o/end_session/?")
    assert client.get("/accounts/whoami/").status_code == 401  # logged out here at once
    # The provider knows the hint and the registered post-logout URI: it goes straight back.
    answer = browser.get(response["Location"], allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:500]
    assert answer.headers["Location"] == "http://testserver/"


def test_returning_sign_in_query_count(client, idp, django_assert_max_num_queries):
    callback(client, start(client, idp))
    client.logout()
    params = start(client, idp)
    with django_assert_max_num_queries(MAX_CALLBACK_QUERIES):
        assert callback(client, params).status_code == 302
