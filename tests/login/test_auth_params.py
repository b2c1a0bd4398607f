"""Per-request authentication parameters of a sign-in (OIDC Core §3.1.2.1): ``prompt``,
``max_age``, ``login_hint``, ``ui_locales``, ``acr_values``.

Driven through the login views against the scripted provider of conftest.py: what reaches
the authorization URL, what is refused, and how ``max_age`` is enforced on the ID token's
``auth_time`` when the provider answers.
"""

from __future__ import annotations

import html
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.http import JsonResponse
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import path

from oauthkit.login import flow
from oauthkit.login.auth_params import AUTH_TIME_SESSION_KEY, authenticated_at, login_url
from oauthkit.login.models import LinkedAccount, PendingLogin
from oauthkit.login.providers import get_provider
from oauthkit.testing.factories import UserFactory
from tests.urls import urlpatterns as base_urlpatterns

from .conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    DEFAULT_ADAPTER,
    IDP,
    assert_error_page,
    callback,
    query_of,
    set_login,
    set_provider,
)

pytestmark = pytest.mark.django_db


def step_up_status(request):
    """A site's own view: when did the provider last authenticate this person?"""
    when = authenticated_at(request)
    return JsonResponse({"auth_time": int(when.timestamp()) if when else None})


urlpatterns = [*base_urlpatterns, path("step-up-status/", step_up_status)]

LOGIN = "/accounts/oauth/fake/login/"


def begin(http, idp, data: dict | None = None, url: str = LOGIN) -> dict[str, str]:
    """POST the start view with ``data``; the authorization request's query parameters."""
    response = http.post(url, data or {})
    assert response.status_code == 302, (response.status_code, response.content[:500])
    assert response["Location"].startswith(IDP + "/authorize?")
    params = query_of(response["Location"])
    idp.nonce = params.get("nonce", "")
    return params


def signed_in(http) -> bool:
    return "_auth_user_id" in http.session


def retry_link(response) -> dict[str, list[str]]:
    """The query of the error page's "Try again" link."""
    body = response.content.decode()
    href = body.split('class="button primary" href="', 1)[1].split('"', 1)[0]
    return parse_qs(urlsplit(html.unescape(href)).query)


# -- the authorization request -------------------------------------------------------------


def test_parameters_reach_the_authorization_url(client, idp):
    params = begin(
        client,
        idp,
        {
            "prompt": "login consent",
            "max_age": "300",
            "login_hint": "pat@example.com",
            "ui_locales": "fr-CA en",
            "acr_values": "urn:mace:incommon:iap:silver phr",
        },
    )
    assert params["prompt"] == "login consent"
    assert params["max_age"] == "300"
    assert params["login_hint"] == "pat@example.com"
    assert params["ui_locales"] == "fr-CA en"
    assert params["acr_values"] == "urn:mace:incommon:iap:silver phr"
    assert PendingLogin.objects.get().max_age == 300  # remembered for the callback


def test_without_parameters_nothing_is_added(client, idp):
    params = begin(client, idp)
    assert not {"prompt", "max_age", "login_hint", "ui_locales", "acr_values"} & set(params)
    assert PendingLogin.objects.get().max_age is None


def test_values_are_normalised_and_blank_ones_left_out(client, idp):
    params = begin(client, idp, {"prompt": " login  login consent ", "login_hint": ""})
    assert params["prompt"] == "login consent"
    assert "login_hint" not in params


def test_request_parameters_win_over_configured_extras(client, idp, settings):
    set_provider(settings, settings={"authorization_params": {"prompt": "select_account"}})
    assert begin(client, idp)["prompt"] == "select_account"
    assert begin(client, idp, {"prompt": "login"})["prompt"] == "login"


def test_only_the_allow_list_passes(client, idp):
    params = begin(
        client,
        idp,
        {
            "redirect_uri": "https://evil.example/cb",
            "scope": "openid admin",
            "state": "forged",
            "client_id": "other",
            "response_type": "token",
            "claims": '{"id_token": {"acr": null}}',
            "request_uri": "https://evil.example/r",
            "max_age": "60",
        },
    )
    assert params["redirect_uri"] == "http://testserver/accounts/oauth/fake/callback/"
    assert params["scope"] == "openid email profile"
    assert params["state"] != "forged" and params["client_id"] == CLIENT_ID
    assert params["response_type"] == "code"
    assert "claims" not in params and "request_uri" not in params
    assert params["max_age"] == "60"


def test_link_parameters_survive_the_continue_page(client, idp):
    # A plain link shows the "Continue" page, which posts to its own URL, query included.
    url = LOGIN + "?next=%2Faccount%2F&prompt=login&max_age=0"
    page = client.get(url)
    assert page.status_code == 200
    assert '<form method="post">' in page.content.decode()
    assert not PendingLogin.objects.exists()
    params = begin(client, idp, {"next": "/account/"}, url=url)
    assert (params["prompt"], params["max_age"]) == ("login", "0")
    assert PendingLogin.objects.get().next_url == "/account/"


def test_posted_value_wins_over_the_query_string(client, idp):
    params = begin(client, idp, {"prompt": "consent"}, url=LOGIN + "?prompt=login")
    assert params["prompt"] == "consent"


def test_login_on_get_sends_the_parameters(client, idp, settings):
    set_login(settings, LOGIN_ON_GET=True)
    response = client.get(LOGIN, {"login_hint": "pat@example.com", "prompt": "select_account"})
    assert response.status_code == 302
    params = query_of(response["Location"])
    assert params["login_hint"] == "pat@example.com"
    assert params["prompt"] == "select_account"


def test_connect_sends_the_parameters(client, idp):
    client.force_login(UserFactory())
    params = begin(client, idp, {"max_age": "0"}, url="/accounts/oauth/fake/connect/")
    assert params["max_age"] == "0"
    pending = PendingLogin.objects.get()
    assert (pending.purpose, pending.max_age) == ("connect", 0)


# -- bad values ------------------------------------------------------------------------------

BAD_VALUES = [
    ("prompt", "none login"),  # §3.1.2.1: none stands alone
    ("prompt", "bogus"),
    ("prompt", "LOGIN"),
    ("max_age", "-1"),
    ("max_age", "1.5"),
    ("max_age", "+5"),
    ("max_age", "soon"),
    ("max_age", "\u0663"),  # an Arabic-Indic digit: isdigit(), but not a JSON number
    ("max_age", "9" * 11),
    ("max_age", str(2**31)),
    ("login_hint", "x" * 256),
    ("login_hint", "pat@example.com\r\nX-Injected: 1"),
    ("ui_locales", "en_US"),
    ("ui_locales", "fr; DROP"),
    ("acr_values", "caf\u00e9"),
    ("acr_values", "a " * 130),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_bad_value_is_refused_with_the_error_page(client, idp, name, value):
    response = client.post(LOGIN, {name: value, "next": "/account/"})
    assert_error_page(response, f"invalid_{name}")
    assert name in response.content.decode()  # the page says which parameter
    assert retry_link(response) == {"next": ["/account/"]}  # without the bad value
    assert not PendingLogin.objects.exists() and not idp.requests


@pytest.mark.parametrize(("name", "value"), BAD_VALUES[:4])
def test_bad_link_is_refused_before_the_continue_page(client, idp, name, value):
    assert_error_page(client.get(LOGIN, {name: value}), f"invalid_{name}")


def test_repeated_parameter_is_refused(client, idp):
    # RFC 6749 §3.1: a parameter is sent at most once.
    response = client.post(LOGIN + "?prompt=login&prompt=consent")
    assert_error_page(response, "invalid_prompt")
    assert not PendingLogin.objects.exists()


def test_begin_refuses_unknown_parameter_names(idp):
    request = RequestFactory().post(LOGIN)
    request.session, request.user = SessionStore(), AnonymousUser()
    with pytest.raises(ValueError, match="maxage"):
        flow.begin(request, get_provider("fake"), auth_params={"maxage": "60"})


def test_configured_max_age_that_is_no_integer_is_a_configuration_error(client, idp, settings):
    set_provider(settings, settings={"authorization_params": {"max_age": "an hour"}})
    assert_error_page(client.post(LOGIN), "configuration_error", status=503)


@pytest.mark.parametrize("name", ["state", "nonce", "code_challenge", "redirect_uri", "scope"])
def test_configured_params_may_not_replace_the_flows_own(client, idp, settings, name):
    # A setting that replaced state, nonce or the PKCE challenge would undo a defence.
    set_provider(settings, settings={"authorization_params": {name: "fixed"}})
    response = client.post(LOGIN)
    assert_error_page(response, "configuration_error", status=503)
    assert not PendingLogin.objects.exists()


# -- max_age and auth_time on the callback ---------------------------------------------------


def step_up(client, idp, auth_time, max_age="300", next_url="/delete-account/"):
    """Start with max_age, let the provider answer with this auth_time (None: absent)."""
    idp.claims["auth_time"] = auth_time
    params = begin(client, idp, {"max_age": max_age, "next": next_url})
    return callback(client, params)


@pytest.mark.urls(__name__)
def test_max_age_with_fresh_auth_time_signs_in(client, idp):
    auth_time = int(time.time()) - 10
    response = step_up(client, idp, auth_time)
    assert response.status_code == 302 and response["Location"] == "/delete-account/"
    assert signed_in(client)
    # The site's view learns when the provider authenticated the person.
    assert client.get("/step-up-status/").json() == {"auth_time": auth_time}


def test_max_age_zero_with_auth_time_now_signs_in(client, idp):
    assert step_up(client, idp, int(time.time()), max_age="0").status_code == 302


def test_auth_time_within_the_leeway_is_accepted(client, idp, settings):
    # LEEWAY (60 s by default) is the ID-token validation's clock skew allowance.
    assert step_up(client, idp, int(time.time()) - 300 - 55).status_code == 302


@pytest.mark.urls(__name__)
def test_stale_auth_time_is_refused(client, idp):
    response = step_up(client, idp, int(time.time()) - 300 - 65)
    assert_error_page(response, "auth_too_old", status=403)
    assert "recent sign-in" in response.content.decode()
    assert not signed_in(client) and not LinkedAccount.objects.exists()
    # "Try again" asks for the same recent sign-in, and goes to the same place.
    assert retry_link(response) == {"next": ["/delete-account/"], "max_age": ["300"]}
    assert client.get("/step-up-status/").json() == {"auth_time": None}


def test_missing_auth_time_is_refused(client, idp):
    # §3.1.2.1: auth_time is REQUIRED in the ID token when max_age was requested.
    response = step_up(client, idp, None)
    assert_error_page(response, "auth_time_missing")
    assert not signed_in(client) and not LinkedAccount.objects.exists()


@pytest.mark.parametrize("auth_time", ["yesterday", True, 10**12])
def test_malformed_or_future_auth_time_is_refused(client, idp, auth_time):
    assert_error_page(step_up(client, idp, auth_time), "auth_time")
    assert not signed_in(client)


def test_without_max_age_an_old_auth_time_does_not_matter(client, idp):
    idp.claims["auth_time"] = int(time.time()) - 86400
    assert callback(client, begin(client, idp)).status_code == 302
    assert signed_in(client)


def test_configured_max_age_is_enforced_too(client, idp, settings):
    set_provider(settings, settings={"authorization_params": {"max_age": 60}})
    idp.claims["auth_time"] = int(time.time()) - 3600
    params = begin(client, idp)
    assert params["max_age"] == "60"
    assert_error_page(callback(client, params), "auth_too_old", status=403)


@pytest.mark.urls(__name__)
def test_refused_step_up_leaves_the_session_as_it_was(client, idp):
    # Signed in an hour ago; the sensitive action asks for a sign-in within 5 minutes.
    hour_ago = int(time.time()) - 3600
    idp.claims["auth_time"] = hour_ago
    assert callback(client, begin(client, idp)).status_code == 302
    user_id = client.session["_auth_user_id"]
    assert_error_page(step_up(client, idp, hour_ago), "auth_too_old", status=403)
    assert client.session["_auth_user_id"] == user_id
    assert client.get("/step-up-status/").json() == {"auth_time": hour_ago}
    # The provider re-authenticates the person: the step-up succeeds.
    fresh = int(time.time()) - 5
    assert step_up(client, idp, fresh).status_code == 302
    assert client.session["_auth_user_id"] == user_id
    assert client.get("/step-up-status/").json() == {"auth_time": fresh}


@pytest.mark.urls(__name__)
def test_a_sign_in_without_auth_time_forgets_the_earlier_one(client, idp):
    step_up(client, idp, int(time.time()))
    assert client.session[AUTH_TIME_SESSION_KEY]
    idp.claims["auth_time"] = None
    assert callback(client, begin(client, idp)).status_code == 302
    assert client.get("/step-up-status/").json() == {"auth_time": None}


@pytest.mark.urls(__name__)
def test_connect_does_not_change_the_users_auth_time(client, idp):
    client.force_login(UserFactory())
    params = begin(client, idp, {"max_age": "60"}, url="/accounts/oauth/fake/connect/")
    idp.claims["auth_time"] = int(time.time())
    assert callback(client, params).status_code == 302
    assert LinkedAccount.objects.exists()
    # Another account's authentication says nothing about this user's.
    assert client.get("/step-up-status/").json() == {"auth_time": None}


# -- a plain OAuth 2 provider ------------------------------------------------------------------


@pytest.fixture
def plain(idp, settings):
    """The scripted provider's endpoints as a plain OAuth 2 provider (no ID token)."""
    set_provider(
        settings,
        "plain",
        kind="oauth2",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        authorization_endpoint=IDP + "/authorize",
        token_endpoint=IDP + "/token",
        userinfo_endpoint=IDP + "/userinfo",
        settings={"profile_mapping": {"subject": "sub"}},
    )
    return idp


def test_plain_oauth2_provider_gets_no_max_age(client, plain):
    params = begin(
        client,
        plain,
        {"max_age": "0", "acr_values": "mfa", "prompt": "login", "login_hint": "pat"},
        url="/accounts/oauth/plain/login/",
    )
    assert "max_age" not in params and "acr_values" not in params
    assert (params["prompt"], params["login_hint"]) == ("login", "pat")
    assert PendingLogin.objects.get().max_age is None
    # No ID token to check auth_time against, and none asked for: the sign-in completes.
    assert callback(client, params, slug="plain", iss=None).status_code == 302
    assert signed_in(client)


# -- prompt=none answers ---------------------------------------------------------------------

PROMPT_NONE_ERRORS = {
    "login_required": "not signed in at the provider",
    "interaction_required": "take part in signing in",
    "consent_required": "your consent",
    "account_selection_required": "choose an account",
}


@pytest.mark.parametrize(("error", "words"), PROMPT_NONE_ERRORS.items())
def test_prompt_none_error_gives_a_clear_page(client, idp, error, words):
    params = begin(client, idp, {"prompt": "none", "next": "/account/"})
    assert params["prompt"] == "none"
    description = "AADSTS50058: A silent sign-in request was sent but no user is signed in."
    response = callback(client, params, code=None, error=error, error_description=description)
    assert_error_page(response, error)
    body = response.content.decode()
    assert words in body and "AADSTS" not in body  # our words, not the provider's jargon
    assert not signed_in(client) and not idp.calls("/token")
    # "Try again" keeps the destination and is the interactive sign-in (no prompt=none).
    assert retry_link(response) == {"next": ["/account/"]}


def test_other_provider_errors_keep_the_providers_description(client, idp):
    params = begin(client, idp, {"prompt": "none"})
    response = callback(client, params, code=None, error="server_error", error_description="Busy")
    assert_error_page(response, "server_error")
    assert "Busy" in response.content.decode()


# -- building the URLs ---------------------------------------------------------------------------


def test_login_url_builds_the_query():
    url = login_url("fake", "/account/", prompt=["login", "consent"], max_age=0, login_hint="")
    assert url.startswith(LOGIN + "?")
    assert query_of(url) == {"next": "/account/", "prompt": "login consent", "max_age": "0"}
    assert login_url("fake") == LOGIN
    with pytest.raises(TypeError, match="maxage"):
        login_url("fake", maxage=0)


def test_template_tag_url_starts_a_step_up(client, idp):
    template = Template(
        "{% load oauthkit_login %}"
        "{% oauthkit_login_url 'fake' next_url='/account/' max_age=0 prompt='login' %}"
    )
    url = html.unescape(template.render(Context({})))
    assert query_of(url) == {"next": "/account/", "max_age": "0", "prompt": "login"}
    assert client.get(url).status_code == 200  # the "Continue" page
    params = begin(client, idp, {"next": "/account/"}, url=url)
    assert (params["max_age"], params["prompt"]) == ("0", "login")


def test_template_tag_buttons_carry_the_parameters(client, idp):
    template = Template(
        "{% load oauthkit_login %}{% oauthkit_login_buttons prompt='select_account' %}"
    )
    body = template.render(Context({}))
    action = html.unescape(body.split('action="', 1)[1].split('"', 1)[0])
    assert action == LOGIN + "?prompt=select_account"
    assert begin(client, idp, url=action)["prompt"] == "select_account"


@pytest.mark.urls(__name__)
def test_sign_up_form_keeps_the_auth_time(client, idp, settings):
    # The provider's username is taken: the person picks another, then is signed in.
    set_login(settings, ADAPTER=DEFAULT_ADAPTER)
    UserFactory(username="pat")
    auth_time = int(time.time()) - 20
    assert step_up(client, idp, auth_time)["Location"] == "/accounts/oauth/signup/"
    assert client.get("/step-up-status/").json() == {"auth_time": None}
    done = client.post("/accounts/oauth/signup/", {"username": "pat2"})
    assert done["Location"] == "/delete-account/"
    assert client.get("/step-up-status/").json() == {"auth_time": auth_time}
