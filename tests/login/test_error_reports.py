"""Django's error report of a failed login-side request shows neither our client secret nor
the provider's codes and tokens (see tests/provider/test_error_reports.py for how).

What Django puts in a report's GET section, and in its URL, is the query string as sent: a
callback's ``code`` and ``state`` arrive there when the provider redirects (RFC 6749
§4.1.2), so only form_post answers (POST) can have them shown as stars.
"""

from __future__ import annotations

import base64
import json
import secrets
from urllib.parse import quote_plus

import pytest

from oauthkit.login.models import LinkedAccount, PendingLogin
from oauthkit.testing.factories import UserFactory
from tests.login.conftest import (
    CLIENT_ID,
    DEFAULT_ADAPTER,
    IDP,
    callback,
    set_login,
    set_provider,
    sign_in,
    start,
)
from tests.login.test_logout import BACKCHANNEL, logout_token
from tests.provider.test_error_reports import ForcedFailure, fail, failed

pytestmark = pytest.mark.django_db

CLIENT_SECRET = secrets.token_urlsafe(24)


@pytest.fixture
def http(client):
    """The test client, answering 500 as a server does instead of raising the failure."""
    client.raise_request_exception = False
    return client


@pytest.fixture
def idp(idp, settings):
    """The scripted provider, issuing random tokens to a client with a random secret."""
    set_provider(settings, client_secret=CLIENT_SECRET)
    idp.access_token = secrets.token_urlsafe(24)
    refresh_token = secrets.token_urlsafe(24)
    idp.issued = []
    build = idp.token_body

    def token_body():
        idp.issued.append({**build(), "refresh_token": refresh_token})
        return idp.issued[-1]

    idp.token_body = token_body
    return idp


def provider_tokens(idp) -> list[str]:
    body = idp.issued[-1]
    return [body["access_token"], body["refresh_token"], body["id_token"]]


def client_secrets() -> list[str]:
    pair = f"{quote_plus(CLIENT_ID)}:{quote_plus(CLIENT_SECRET)}"
    return [CLIENT_SECRET, base64.b64encode(pair.encode()).decode()]


def test_failure_of_a_form_post_callback(http, caplog, monkeypatch, idp):
    state = start(http, idp)["state"]
    name = secrets.token_hex(8)  # Apple's ``user``: personal data
    answer = {
        "code": secrets.token_urlsafe(24),
        "state": state,
        "id_token": secrets.token_urlsafe(48),
        "user": json.dumps({"name": {"firstName": name}}),
    }

    def protect_page(response):
        raise ForcedFailure("forced failure")

    # Protecting the redirect that continues as a GET (the code in its URL) fails.
    monkeypatch.setattr("oauthkit.login.views.protect_page", protect_page)

    report = failed(caplog, lambda: http.post("/accounts/oauth/fake/callback/", answer))

    report.assert_stars("code", "state", "id_token", "user")
    report.assert_hidden(answer["code"], state, answer["id_token"], name)


def test_failure_while_redeeming_the_code(http, caplog, idp):
    params = start(http, idp)
    verifier = PendingLogin.objects.get().code_verifier
    # The token request fails on the way (a bug below requests, say).
    idp.raise_on["/token"] = ForcedFailure("forced failure")

    report = failed(caplog, lambda: callback(http, params))

    assert "redeem_code" in report.texts[0]
    report.assert_hidden(*client_secrets(), verifier, shown=(IDP,))


def test_failure_after_the_provider_answered(http, caplog, monkeypatch, idp):
    def complete(request, result):
        raise ForcedFailure("forced failure")

    monkeypatch.setattr("oauthkit.login.views.accounts.complete", complete)

    report = failed(caplog, lambda: sign_in(http, idp))

    report.assert_hidden(*provider_tokens(idp), *client_secrets())


def test_failure_while_signing_up(http, caplog, monkeypatch, idp, settings):
    set_login(settings, ADAPTER=DEFAULT_ADAPTER)
    UserFactory(username="pat")
    assert sign_in(http, idp)["Location"] == "/accounts/oauth/signup/"

    def create_user(request, result, username):
        raise ForcedFailure("forced failure")

    monkeypatch.setattr("oauthkit.login.views.accounts.create_user", create_user)

    report = failed(caplog, lambda: http.post("/accounts/oauth/signup/", {"username": "pat_2"}))

    report.assert_hidden(*provider_tokens(idp))


def test_failure_while_revoking_on_disconnect(http, caplog, idp):
    sign_in(http, idp)
    account = LinkedAccount.objects.get()
    account.user.set_password("password")
    account.user.save()
    http.force_login(account.user)
    idp.raise_on["/revoke"] = ForcedFailure("forced failure")

    report = failed(caplog, lambda: http.post(f"/accounts/oauth/disconnect/{account.pk}/"))

    assert "revoke_tokens" in report.texts[0]
    report.assert_hidden(*provider_tokens(idp), *client_secrets())


def test_failure_of_rp_initiated_logout(http, caplog, monkeypatch, idp, settings):
    set_login(settings, RP_LOGOUT=True)
    sign_in(http, idp)

    def urlencode(query):
        raise ForcedFailure("forced failure")

    # Building the provider's logout URL, with the ID token as id_token_hint.
    monkeypatch.setattr("oauthkit.login.logout.urlencode", urlencode)

    report = failed(caplog, lambda: http.post("/accounts/oauth/logout/"))

    report.assert_hidden(*provider_tokens(idp))


def test_failure_while_receiving_a_logout_token(http, caplog, monkeypatch, idp):
    token = logout_token(idp)
    # After the signature check: validate_logout_token's frame holds the token.
    monkeypatch.setattr("oauthkit.login.logout.check_times", fail)

    report = failed(caplog, lambda: http.post(BACKCHANNEL, {"logout_token": token}))

    report.assert_stars("logout_token")
    report.assert_hidden(token, token.rsplit(".", 1)[1])
