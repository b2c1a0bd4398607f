"""Django's error report of a failed request (the admins' e-mail of AdminEmailHandler, the
DEBUG page's report, what error trackers read) shows no credential and no token: the form
parameters that carry them are stars, and so are the variables of the frames holding them.

Each test makes a function the view calls raise, as a database outage or a bug would, sends
the request with known secrets through a test client that answers 500 instead of raising,
and builds the report from the ``django.request`` record, as AdminEmailHandler does. The
fakes take the parameter names of the functions they replace: the report shows their frames.
DEBUG is off, as in production: with DEBUG on, Django's filter hides nothing, by design.
"""

from __future__ import annotations

import importlib
import logging
import re
import secrets
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Permission
from django.http import HttpResponse
from django.views.debug import (
    ExceptionReporter,
    SafeExceptionReporterFilter,
    get_default_exception_reporter_filter,
)

from oauthkit.provider.applications.developer import DeveloperApplicationView
from oauthkit.provider.authorization import AuthorizationRequest
from oauthkit.provider.keys import key_ring
from oauthkit.provider.logout import LogoutRequest
from oauthkit.provider.models import AuthorizationCode, Client, DeviceAuthorization, RefreshToken
from oauthkit.provider.throttle import Throttle
from oauthkit.testing.factories import AccessTokenFactory, ClientFactory, RefreshTokenFactory
from tests.helpers import (
    authorize_params,
    basic,
    basic_auth,
    cc_token,
    consent_form,
    get_code,
    pkce_pair,
    post_form,
    sign_id_token,
)
from tests.provider._device import DEVICE_GRANT, VERIFY_URL, device_app, device_request, start

pytestmark = pytest.mark.django_db

STARS = SafeExceptionReporterFilter.cleansed_substitute


class ForcedFailure(RuntimeError):
    """The failure a test makes happen inside a view."""


def fail(*_args, **_kwargs):
    """A stand-in that fails, for functions called without a secret."""
    raise ForcedFailure("forced failure")


@dataclass
class Report:
    """A failed request's 500 response and Django's error report of it."""

    response: HttpResponse
    texts: list[str]
    htmls: list[str]

    def assert_hidden(self, *values: str, shown: tuple[str, ...] = ()) -> None:
        """No value is anywhere in the report or the response; each of ``shown`` is in the
        report (the frames' variables are printed: they are only not these)."""
        for value in values:
            assert value
            assert value.encode() not in self.response.content
            for report in (*self.texts, *self.htmls):
                assert value not in report
        for value in shown:
            for report in self.htmls:
                assert value in report

    def assert_stars(self, *names: str) -> None:
        """Django's filter ran: each POST parameter (or META key) is shown as stars."""
        for name in names:
            for text in self.texts:
                assert f"{name} = '{STARS}'" in text, name
        for html in self.htmls:
            assert STARS in html


def failed(caplog, send) -> Report:
    """Send a request (``send()``) that fails, and Django's report of the failure."""
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = send()
    # The site's standard 500 page (handler500), as for any view: nothing of the request.
    assert response.status_code == 500
    assert b"Server Error (500)" in response.content
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info[0] is ForcedFailure
    reporters = [
        ExceptionReporter(record.request, *record.exc_info, is_email=is_email)
        for is_email in (True, False)  # the admins' e-mail, the DEBUG page's report
    ]
    report = Report(
        response,
        texts=[r.get_traceback_text() for r in reporters],
        htmls=[r.get_traceback_html() for r in reporters],
    )
    for text in report.texts:
        assert "forced failure" in text
    return report


@pytest.fixture
def http(client):
    """The test client, answering 500 as a server does instead of raising the failure."""
    client.raise_request_exception = False
    return client


def spy(monkeypatch, target: str) -> list:
    """Replace the function at ``target`` by one that records what it returns."""
    module_path, name = target.rsplit(".", 1)
    module = importlib.import_module(module_path)
    real = getattr(module, name)
    seen = []

    def recording(*args, **kwargs):
        seen.append(real(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(module, name, recording)
    return seen


def failing_property(monkeypatch, model, name: str) -> None:
    monkeypatch.setattr(model, name, property(fail))


# --- Token endpoint (RFC 6749 §3.2) ----------------------------------------------------------

TOKEN_SECRETS = (
    "client_secret",
    "client_assertion",
    "code",
    "code_verifier",
    "refresh_token",
    "password",
    "device_code",
)


def test_token_endpoint_parameters_are_stars(http, caplog, monkeypatch):
    monkeypatch.setattr("oauthkit.provider.endpoints.token.grant_registry", fail)
    values = {name: secrets.token_urlsafe(24) for name in TOKEN_SECRETS}

    report = failed(
        caplog,
        lambda: post_form(
            http, "/o/token/", {"grant_type": "authorization_code", "client_id": "app", **values}
        ),
    )

    report.assert_stars(*TOKEN_SECRETS)
    report.assert_hidden(*values.values(), shown=("authorization_code",))


@pytest.fixture
def post_client(db):
    return ClientFactory(token_endpoint_auth_method="client_secret_post")


def redeem_posting_secret(http, client, code: str, verifier: str):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": client.redirect_uris[0],
        "client_id": client.client_id,
        "client_secret": client.raw_secret,
    }
    return post_form(http, "/o/token/", data)


def test_failure_while_loading_the_code(http, caplog, monkeypatch, user, post_client):
    http.force_login(user)
    code, verifier = get_code(http, post_client)
    # Inside load_code, whose frame holds the code as sent.
    failing_property(monkeypatch, AuthorizationCode, "is_expired")

    report = failed(caplog, lambda: redeem_posting_secret(http, post_client, code, verifier))

    assert "load_code" in report.texts[0]
    report.assert_stars("client_secret", "code", "code_verifier")
    report.assert_hidden(code, verifier, post_client.raw_secret, shown=(post_client.client_id,))


def test_failure_while_checking_pkce(http, caplog, monkeypatch, user, post_client):
    http.force_login(user)
    code, verifier = get_code(http, post_client)

    def s256(verifier):
        raise ForcedFailure("forced failure")

    monkeypatch.setattr("oauthkit.provider.pkce.s256", s256)

    report = failed(caplog, lambda: redeem_posting_secret(http, post_client, code, verifier))

    assert "verify_pkce" in report.texts[0]
    report.assert_hidden(code, verifier, post_client.raw_secret, shown=(post_client.client_id,))


def test_failure_after_the_tokens_are_issued(http, caplog, monkeypatch, user, oauth_client):
    http.force_login(user)
    code, verifier = get_code(http, oauth_client, scope="openid read")
    access = spy(monkeypatch, "oauthkit.provider.grants.base.issue_access_token")
    refresh = spy(monkeypatch, "oauthkit.provider.grants.base.issue_refresh_token")
    id_tokens = spy(monkeypatch, "oauthkit.provider.grants.base.issue_id_token")
    # A site's token_issued receiver that fails, below Grant.issue's frame.
    monkeypatch.setattr("oauthkit.provider.grants.base.token_issued", fail)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": oauth_client.redirect_uris[0],
    }

    report = failed(caplog, lambda: post_form(http, "/o/token/", data, **basic_auth(oauth_client)))

    issued = [access[0][0], refresh[0][0], id_tokens[0]]
    report.assert_stars("code", "code_verifier", "HTTP_AUTHORIZATION")
    report.assert_hidden(
        *issued,
        code,
        verifier,
        oauth_client.raw_secret,
        basic(oauth_client.client_id, oauth_client.raw_secret),
        shown=("issue",),
    )


class OldFilter(SafeExceptionReporterFilter):
    """A site's filter that shows the Authorization header, as Django 4.2's does."""

    hidden_settings = re.compile("API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE", flags=re.I)

    def get_safe_settings(self):
        return {"SITE_FILTER": "in use"}


@pytest.fixture(params=["django", "old"])
def site_filter(request, settings):
    """Django's own filter (on 5.2 it hides the Authorization header: META keys with AUTH),
    then one that shows it; hide_authorization_header hides it then."""
    if request.param == "old":
        settings.DEFAULT_EXCEPTION_REPORTER_FILTER = f"{__name__}.OldFilter"
    get_default_exception_reporter_filter.cache_clear()  # Django reads the setting once
    yield request.param
    get_default_exception_reporter_filter.cache_clear()


def test_failure_in_client_authentication_with_basic(
    http, caplog, monkeypatch, oauth_client, site_filter
):
    monkeypatch.setattr("oauthkit.provider.client_auth.get_active_client", fail)
    header = basic(oauth_client.client_id, oauth_client.raw_secret)

    report = failed(
        caplog,
        lambda: post_form(
            http, "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=header
        ),
    )

    report.assert_stars("HTTP_AUTHORIZATION")
    report.assert_hidden(header.split()[1], oauth_client.raw_secret)
    if site_filter == "old":
        # The site's filter still decides the rest: it is wrapped, not replaced.
        assert all("SITE_FILTER" in html for html in report.htmls)


def test_failure_while_loading_a_refresh_token(http, caplog, monkeypatch, user, oauth_client):
    token = RefreshTokenFactory(client=oauth_client, user=user)
    failing_property(monkeypatch, RefreshToken, "is_expired")
    data = {"grant_type": "refresh_token", "refresh_token": token.raw_token}

    report = failed(caplog, lambda: post_form(http, "/o/token/", data, **basic_auth(oauth_client)))

    assert "load_token" in report.texts[0]
    report.assert_stars("refresh_token", "HTTP_AUTHORIZATION")
    report.assert_hidden(token.raw_token, oauth_client.raw_secret)


def test_failure_while_loading_a_device_code(http, caplog, monkeypatch):
    app = device_app()
    device_code = start(http, app)["device_code"]
    failing_property(monkeypatch, DeviceAuthorization, "is_expired")
    data = {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": app.client_id}

    report = failed(caplog, lambda: post_form(http, "/o/token/", data))

    assert "load_authorization" in report.texts[0]
    report.assert_stars("device_code")
    report.assert_hidden(device_code, shown=(app.client_id,))


def test_failure_in_the_password_grant(http, caplog, monkeypatch, settings, user):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ALLOW_PASSWORD_GRANT": True}
    app = ClientFactory(grant_types=["password"])
    # The throttle's cache fails, with the password in the grant's frames.
    monkeypatch.setattr(Throttle, "blocked", fail)
    password = secrets.token_urlsafe(12)
    data = {"grant_type": "password", "username": "alice", "password": password}

    report = failed(caplog, lambda: post_form(http, "/o/token/", data, **basic_auth(app)))

    report.assert_stars("password", "HTTP_AUTHORIZATION")
    report.assert_hidden(password, app.raw_secret, shown=("alice",))


# --- Revocation (RFC 7009), introspection (RFC 7662), UserInfo (OIDC Core §5.3) --------------


def test_failure_while_revoking(http, caplog, monkeypatch, oauth_client):
    token = AccessTokenFactory(client=oauth_client)
    monkeypatch.setattr("oauthkit.provider.endpoints.revocation.tokens_revoked", fail)

    report = failed(
        caplog,
        lambda: post_form(
            http, "/o/revoke/", {"token": token.raw_token}, **basic_auth(oauth_client)
        ),
    )

    assert "revoke_access_token" in report.texts[0]
    report.assert_stars("token", "HTTP_AUTHORIZATION")
    report.assert_hidden(token.raw_token, oauth_client.raw_secret, shown=(oauth_client.client_id,))


def test_failure_while_introspecting(http, caplog, monkeypatch, oauth_client):
    jwt = cc_token(http, oauth_client, "read")
    # The key ring's database fails while the JWT is being verified.
    monkeypatch.setattr(key_ring, "verification_keys", fail)

    report = failed(
        caplog,
        lambda: post_form(http, "/o/introspect/", {"token": jwt}, **basic_auth(oauth_client)),
    )

    assert "find_access_token" in report.texts[0]
    report.assert_stars("token", "HTTP_AUTHORIZATION")
    report.assert_hidden(jwt, jwt.rsplit(".", 1)[1], oauth_client.raw_secret)


def test_failure_in_userinfo_with_the_token_in_the_body(http, caplog, monkeypatch, oauth_client):
    jwt = cc_token(http, oauth_client, "read")
    monkeypatch.setattr(key_ring, "verification_keys", fail)

    report = failed(caplog, lambda: post_form(http, "/o/userinfo/", {"access_token": jwt}))

    assert "find_token" in report.texts[0]
    report.assert_stars("access_token")
    report.assert_hidden(jwt, jwt.rsplit(".", 1)[1])


def test_failure_in_userinfo_with_a_bearer_header(
    http, caplog, monkeypatch, oauth_client, site_filter
):
    jwt = cc_token(http, oauth_client, "read")
    monkeypatch.setattr(key_ring, "verification_keys", fail)

    report = failed(caplog, lambda: http.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {jwt}"))

    assert "find_token" in report.texts[0]
    report.assert_stars("HTTP_AUTHORIZATION")
    report.assert_hidden(jwt, jwt.rsplit(".", 1)[1])


# --- Device authorization (RFC 8628 §3.1) and verification (§3.3) ----------------------------


def test_failure_after_a_device_authorization_is_made(http, caplog, monkeypatch):
    app = ClientFactory(token_endpoint_auth_method="client_secret_post", grant_types=[DEVICE_GRANT])
    made = spy(monkeypatch, "oauthkit.provider.endpoints.device.create_device_authorization")
    monkeypatch.setattr("oauthkit.provider.endpoints.device.endpoint_url", fail)

    report = failed(caplog, lambda: device_request(http, app, {"scope": "read"}))

    report.assert_stars("client_secret")
    report.assert_hidden(
        app.raw_secret, made[0].device_code, made[0].user_code, shown=(app.client_id,)
    )


def test_failure_on_the_verification_page(http, caplog, monkeypatch, user):
    user_code = start(http, device_app())["user_code"]
    http.force_login(user)
    # The throttle's cache fails, with the code as typed in the view's frames.
    monkeypatch.setattr(Throttle, "blocked", fail)

    report = failed(caplog, lambda: http.post(VERIFY_URL, {"user_code": user_code}))

    report.assert_stars("user_code")
    report.assert_hidden(user_code, user_code.replace("-", ""))


# --- Authorization (consent answer) and end-session endpoints --------------------------------


def test_failure_after_consent_with_an_id_token_hint(http, caplog, monkeypatch, user, oauth_client):
    http.force_login(user)
    hint = sign_id_token(oauth_client, str(user.pk))
    _, challenge = pkce_pair()
    form = consent_form(
        http.get("/o/authorize/", authorize_params(oauth_client, challenge, id_token_hint=hint))
    )
    issued = []
    real_issue_code = AuthorizationRequest.issue_code

    def issue_code(self, *args, **kwargs):
        issued.append(real_issue_code(self, *args, **kwargs))
        return issued[-1]

    def response_uri(self, values, issuer):
        raise ForcedFailure("forced failure")

    monkeypatch.setattr(AuthorizationRequest, "issue_code", issue_code)
    monkeypatch.setattr(AuthorizationRequest, "response_uri", response_uri)

    report = failed(caplog, lambda: http.post("/o/authorize/", {**form, "decision": "allow"}))

    assert form["id_token_hint"] == hint
    report.assert_stars("id_token_hint")
    report.assert_hidden(hint, issued[0], shown=(oauth_client.client_id,))


def load_client(self):
    raise ForcedFailure("forced failure")


@pytest.mark.parametrize(
    "target", ["oauthkit.provider.endpoints.end_session.logout", "load_client"]
)
def test_failure_of_a_posted_logout_request(http, caplog, monkeypatch, user, oauth_client, target):
    http.force_login(user)
    hint = sign_id_token(oauth_client, str(user.pk))
    if target == "load_client":
        # Inside LogoutRequest's own methods, whose repr holds the parameters.
        monkeypatch.setattr(LogoutRequest, "load_client", load_client)
    else:
        monkeypatch.setattr(target, fail)

    report = failed(caplog, lambda: http.post("/o/end_session/", {"id_token_hint": hint}))

    report.assert_stars("id_token_hint")
    report.assert_hidden(hint, hint.rsplit(".", 1)[1])


# --- Developer application pages: a new client secret ----------------------------------------


@pytest.fixture
def developer_http(http, user):
    user.user_permissions.add(Permission.objects.get(codename="register_client"))
    http.force_login(user)
    return http


def test_failure_after_a_new_secret_is_made(developer_http, caplog, monkeypatch, user):
    app = ClientFactory(owner=user)
    made = []
    real = Client.set_new_secret

    def set_new_secret(self):
        made.append(real(self))
        return made[-1]

    monkeypatch.setattr(Client, "set_new_secret", set_new_secret)
    monkeypatch.setattr("oauthkit.provider.applications.developer.notify", fail)

    report = failed(
        caplog, lambda: developer_http.post(f"/o/applications/developer/{app.pk}/secret/")
    )

    report.assert_hidden(made[0], shown=(app.client_id,))


def test_failure_on_the_page_showing_the_secret(developer_http, caplog, monkeypatch, user):
    app = ClientFactory(owner=user)
    developer_http.post(f"/o/applications/developer/{app.pk}/secret/")
    secret = developer_http.session["oauthkit_developer_secret"]["secret"]

    def render(self, request, template, context, status=200):
        raise ForcedFailure("forced failure")

    monkeypatch.setattr(DeveloperApplicationView, "render", render)

    report = failed(caplog, lambda: developer_http.get(f"/o/applications/developer/{app.pk}/"))

    report.assert_hidden(secret, shown=(app.client_id,))
