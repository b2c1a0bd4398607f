"""OpenID Connect authorization request parameters through real requests: prompt, max_age,
id_token_hint, login_hint, ui_locales, acr_values, nonce and response_mode (OIDC Core
§3.1.2.1, §3.1.2.6; OAuth 2.0 Form Post Response Mode; RFC 8252 §8.6)."""

import re
import time

import pytest
from django.urls import include, path
from django.utils import timezone

from oauthkit import jose
from oauthkit.provider.endpoints.authorize import AuthorizationView
from oauthkit.provider.keys import key_ring
from oauthkit.provider.models import AuthorizationCode
from oauthkit.provider.sessions import AUTH_TIME_SESSION_KEY
from oauthkit.testing.factories import ClientFactory, ConsentFactory, UserFactory
from tests.helpers import (
    ISSUER,
    REDIRECT_URI,
    assert_error_page,
    assert_redirected_error,
    authorize_params,
    consent_form,
    form_post_of,
    log_in_through_form,
    login_redirect_query,
    pkce_pair,
    query_of,
    sign_id_token,
    token_request,
)

pytestmark = pytest.mark.django_db

AUTHORIZE = "/o/authorize/"
HOUR_AGO = int(time.time()) - 3600


def params_for(oauth_client, **extra) -> dict:
    _, challenge = pkce_pair()
    return authorize_params(oauth_client, challenge, **extra)


def signed_in(http, user, *, auth_time: int | None = None):
    """``http`` signed in as ``user``; ``auth_time`` backdates the recorded sign-in."""
    http.force_login(user)
    if auth_time is not None:
        session = http.session
        session[AUTH_TIME_SESSION_KEY] = auth_time
        session.save()
    return http


def code_row(response) -> AuthorizationCode:
    """The code a redirect carries (exactly one code exists)."""
    assert response.status_code in (302, 303), (response.status_code, response.content)
    assert "code" in query_of(response["Location"]), response["Location"]
    return AuthorizationCode.objects.get()


def assert_consent_page(response) -> None:
    assert response.status_code == 200, (response.status_code, response.content)
    assert "oauthkit/provider/authorize.html" in [t.name for t in response.templates]


@pytest.fixture
def remembered(user, oauth_client):
    """The user consented to ``read`` for oauth_client before."""
    return ConsentFactory(user=user, client=oauth_client, scope="read")


# --- prompt (Core §3.1.2.1) ------------------------------------------------------------------


@pytest.mark.parametrize(
    "prompt", ["none login", "none consent", "none select_account", "none unknown"]
)
def test_prompt_none_with_another_value_is_invalid_request(
    client, user, oauth_client, remembered, prompt
):
    # Core §3.1.2.1: none with any other value is an error.
    signed_in(client, user)
    response = client.get(AUTHORIZE, params_for(oauth_client, prompt=prompt))
    query = assert_redirected_error(response, "invalid_request")
    assert "prompt" in query["error_description"]


def test_unknown_prompt_values_are_ignored(client, user, oauth_client, remembered):
    signed_in(client, user)
    response = client.get(AUTHORIZE, params_for(oauth_client, prompt="whatever"))
    assert code_row(response).user == user


def test_prompt_login_signs_in_again_and_the_flow_resumes_without_looping(
    client, user, oauth_client, remembered
):
    signed_in(client, user, auth_time=HOUR_AGO)
    response = client.get(AUTHORIZE, params_for(oauth_client, prompt="login", nonce="n-1"))
    # Signed in, yet sent to the login page; next comes back without prompt=login.
    next_url = login_redirect_query(response)["next"]
    resumed = query_of(next_url)
    assert "prompt" not in resumed
    assert resumed["nonce"] == "n-1"
    assert not AuthorizationCode.objects.exists()

    log_in_through_form(client, next_url)
    code = code_row(client.get(next_url))
    # The code carries the new sign-in, which the ID token's auth_time reports.
    assert code.auth_time.timestamp() > HOUR_AGO
    assert code.nonce == "n-1"


def test_prompt_login_keeps_the_other_prompt_values(client, user, oauth_client, remembered):
    signed_in(client, user)
    response = client.get(AUTHORIZE, params_for(oauth_client, prompt="login consent"))
    next_url = login_redirect_query(response)["next"]
    assert query_of(next_url)["prompt"] == "consent"
    log_in_through_form(client, next_url)
    assert_consent_page(client.get(next_url))


def test_prompt_login_for_an_anonymous_user_comes_back_without_it(client, user, oauth_client):
    response = client.get(AUTHORIZE, params_for(oauth_client, prompt="login"))
    next_url = login_redirect_query(response)["next"]
    assert "prompt" not in query_of(next_url)
    log_in_through_form(client, next_url)
    assert_consent_page(client.get(next_url))


def test_prompt_select_account_goes_to_the_login_page(client, user, oauth_client, remembered):
    signed_in(client, user)
    response = client.get(AUTHORIZE, params_for(oauth_client, prompt="select_account"))
    next_url = login_redirect_query(response)["next"]
    assert "prompt" not in query_of(next_url)
    other = UserFactory(username="bob")
    ConsentFactory(user=other, client=oauth_client, scope="read")
    log_in_through_form(client, next_url, username="bob")
    assert code_row(client.get(next_url)).user == other


class AccountChooserView(AuthorizationView):
    select_account_url = "/accounts/choose/"


urlpatterns = [
    path("chooser/authorize/", AccountChooserView.as_view()),
    path("", include("tests.urls")),
]


@pytest.mark.urls(__name__)
def test_a_site_may_send_select_account_to_its_own_account_chooser(
    client, user, oauth_client, remembered
):
    signed_in(client, user)
    params = params_for(oauth_client, prompt="select_account")
    response = client.get("/chooser/authorize/", params)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/choose/?")
    next_url = query_of(response["Location"])["next"]
    assert next_url.startswith("/chooser/authorize/?")
    # The chooser keeps the session and sends the user back: the flow completes.
    assert code_row(client.get(next_url)).user == user
    # prompt=login still goes to LOGIN_URL.
    login = client.get("/chooser/authorize/", {**params, "prompt": "login"})
    login_redirect_query(login)


def test_prompt_consent_shows_the_page_although_consent_is_remembered(
    client, user, oauth_client, remembered
):
    signed_in(client, user)
    page = client.get(AUTHORIZE, params_for(oauth_client, prompt="consent"))
    assert_consent_page(page)
    form = consent_form(page)
    assert form["prompt"] == "consent"
    response = client.post(AUTHORIZE, {**form, "decision": "allow"})
    assert code_row(response).user == user


def test_prompt_consent_shows_the_page_to_a_skip_consent_client(client, user):
    first_party = ClientFactory(skip_consent=True)
    signed_in(client, user)
    assert code_row(client.get(AUTHORIZE, params_for(first_party)))
    assert_consent_page(client.get(AUTHORIZE, params_for(first_party, prompt="consent")))


def test_prompt_none_answers_without_a_page_even_for_a_skip_consent_client(client, user):
    first_party = ClientFactory(skip_consent=True)
    signed_in(client, user)
    assert code_row(client.get(AUTHORIZE, params_for(first_party, prompt="none")))


# --- Native clients whose identity cannot be assured (RFC 8252 §8.6, checklist 19) -----------


def test_remembered_consent_of_a_loopback_public_client_is_not_reused_silently(
    client, user, public_client
):
    ConsentFactory(user=user, client=public_client, scope="read")
    signed_in(client, user)
    params = params_for(public_client)
    assert_consent_page(client.get(AUTHORIZE, params))
    response = client.get(AUTHORIZE, {**params, "prompt": "none"})
    assert_redirected_error(response, "interaction_required", redirect_uri="http://127.0.0.1/cb")


def test_public_client_without_consent_gets_consent_required(client, user, public_client):
    signed_in(client, user)
    response = client.get(AUTHORIZE, params_for(public_client, prompt="none"))
    assert_redirected_error(response, "consent_required", redirect_uri="http://127.0.0.1/cb")


def test_remembered_consent_of_an_https_public_client_is_reused(client, user):
    spa = ClientFactory(public=True)
    ConsentFactory(user=user, client=spa, scope="read")
    signed_in(client, user)
    assert code_row(client.get(AUTHORIZE, params_for(spa, prompt="none")))


# --- max_age (Core §3.1.2.1) -----------------------------------------------------------------


def test_max_age_exceeded_signs_in_again_and_the_flow_resumes(
    client, user, oauth_client, remembered
):
    signed_in(client, user, auth_time=HOUR_AGO)
    response = client.get(AUTHORIZE, params_for(oauth_client, max_age="600"))
    next_url = login_redirect_query(response)["next"]
    assert "max_age" not in query_of(next_url)
    assert not AuthorizationCode.objects.exists()

    log_in_through_form(client, next_url)
    code = code_row(client.get(next_url))
    assert code.auth_time.timestamp() > HOUR_AGO


def test_recent_sign_in_within_max_age_gets_a_code_with_auth_time(
    client, user, oauth_client, remembered
):
    signed_in(client, user, auth_time=HOUR_AGO)
    code = code_row(client.get(AUTHORIZE, params_for(oauth_client, max_age="7200")))
    # auth_time is stored on the code for the ID token (Core §2: required with max_age).
    assert int(code.auth_time.timestamp()) == HOUR_AGO


def test_max_age_zero_always_signs_in_again_and_then_completes(
    client, user, oauth_client, remembered
):
    client.get("/accounts/login/")
    log_in_through_form(client, "/")  # a sign-in just now
    response = client.get(AUTHORIZE, params_for(oauth_client, max_age="0"))
    next_url = login_redirect_query(response)["next"]
    log_in_through_form(client, next_url)
    assert code_row(client.get(next_url)).user == user


def test_max_age_with_prompt_none_is_login_required(client, user, oauth_client, remembered):
    signed_in(client, user, auth_time=HOUR_AGO)
    response = client.get(AUTHORIZE, params_for(oauth_client, max_age="60", prompt="none"))
    assert_redirected_error(response, "login_required")
    assert not AuthorizationCode.objects.exists()


def test_max_age_falls_back_to_last_login(client, user, oauth_client, remembered):
    signed_in(client, user)
    session = client.session
    del session[AUTH_TIME_SESSION_KEY]
    session.save()
    user.last_login = timezone.now() - timezone.timedelta(hours=2)
    user.save(update_fields=["last_login"])
    login_redirect_query(client.get(AUTHORIZE, params_for(oauth_client, max_age="3600")))
    code = code_row(client.get(AUTHORIZE, params_for(oauth_client, max_age="86400")))
    assert code.auth_time == user.last_login


@pytest.mark.parametrize("value", ["-1", "1.5", "abc", "", " 60", "+60", "\uff16\uff10", "9" * 40])
def test_max_age_must_be_a_non_negative_integer(client, user, oauth_client, value):
    signed_in(client, user)
    response = client.get(AUTHORIZE, params_for(oauth_client, max_age=value))
    assert_redirected_error(response, "invalid_request")


# --- id_token_hint (Core §3.1.2.1) -----------------------------------------------------------


def test_id_token_hint_of_the_signed_in_user_gets_a_code(client, user, oauth_client, remembered):
    signed_in(client, user)
    hint = sign_id_token(oauth_client, str(user.pk), exp=int(time.time()) - 3600)  # expired: fine
    response = client.get(AUTHORIZE, params_for(oauth_client, id_token_hint=hint, prompt="none"))
    assert code_row(response).user == user


def test_id_token_hint_of_another_user_with_prompt_none_is_login_required(
    client, user, oauth_client, remembered
):
    signed_in(client, user)
    hint = sign_id_token(oauth_client, str(UserFactory(username="bob").pk))
    response = client.get(AUTHORIZE, params_for(oauth_client, id_token_hint=hint, prompt="none"))
    assert_redirected_error(response, "login_required")
    assert not AuthorizationCode.objects.exists()


def test_id_token_hint_of_another_user_sends_to_login_and_that_user_continues(
    client, user, oauth_client
):
    bob = UserFactory(username="bob")
    ConsentFactory(user=bob, client=oauth_client, scope="read")
    signed_in(client, user)
    hint = sign_id_token(oauth_client, str(bob.pk))
    response = client.get(AUTHORIZE, params_for(oauth_client, id_token_hint=hint))
    next_url = login_redirect_query(response)["next"]
    assert query_of(next_url)["id_token_hint"] == hint
    log_in_through_form(client, next_url, username="bob")
    assert code_row(client.get(next_url)).user == bob


@pytest.mark.parametrize(
    "make_hint",
    [
        pytest.param(lambda c, sub: "not-a-jwt", id="garbage"),
        pytest.param(lambda c, sub: "e30.e30.e30", id="not-signed"),
        pytest.param(
            lambda c, sub: sign_id_token(c, sub, key=jose.generate_key("ES256")), id="foreign-key"
        ),
        pytest.param(lambda c, sub: sign_id_token(c, sub, aud="someone-else"), id="other-aud"),
        pytest.param(lambda c, sub: sign_id_token(c, sub, iss="https://evil.example"), id="iss"),
        pytest.param(
            lambda c, sub: jose.sign(
                {"iss": ISSUER, "sub": sub, "aud": c.client_id, "exp": 2**31},
                key_ring.signing_key(),
                typ="at+jwt",
            ),
            id="access-token",
        ),
    ],
)
def test_unverifiable_id_token_hint_is_invalid_request(
    client, user, oauth_client, remembered, make_hint
):
    signed_in(client, user)
    hint = make_hint(oauth_client, str(user.pk))
    response = client.get(AUTHORIZE, params_for(oauth_client, id_token_hint=hint))
    query = assert_redirected_error(response, "invalid_request")
    assert "id_token_hint" in query["error_description"]


def test_id_token_hint_with_a_list_audience_naming_the_client_is_accepted(
    client, user, oauth_client, remembered
):
    signed_in(client, user)
    hint = sign_id_token(oauth_client, str(user.pk), aud=["other", oauth_client.client_id])
    assert code_row(client.get(AUTHORIZE, params_for(oauth_client, id_token_hint=hint)))


# --- login_hint, ui_locales, acr_values ------------------------------------------------------


def test_login_hint_and_ui_locales_are_passed_to_the_login_page(client, user, oauth_client):
    params = params_for(oauth_client, login_hint="alice@example.com", ui_locales="fr en")
    query = login_redirect_query(client.get(AUTHORIZE, params))
    assert query["login_hint"] == "alice@example.com"
    assert query["ui_locales"] == "fr en"
    # ... and the flow resumes with them.
    assert query_of(query["next"])["login_hint"] == "alice@example.com"


def test_consent_page_speaks_the_first_supported_ui_locale(client, user, oauth_client):
    signed_in(client, user)
    page = client.get(
        AUTHORIZE, params_for(oauth_client, ui_locales="xx-unknown fr-CA de", acr_values="1 2")
    )
    assert_consent_page(page)
    assert '<html lang="fr' in page.content.decode()
    assert page["Content-Language"].lower().startswith("fr")
    assert page.context["ui_locales"] == ["xx-unknown", "fr-CA", "de"]
    assert page.context["acr_values"] == ["1", "2"]


def test_consent_page_without_ui_locales_uses_the_site_language(client, user, oauth_client):
    signed_in(client, user)
    page = client.get(AUTHORIZE, params_for(oauth_client, ui_locales="xx"))
    assert '<html lang="en' in page.content.decode()
    assert "Content-Language" not in page


# --- nonce -----------------------------------------------------------------------------------


def test_nonce_of_512_characters_is_stored_and_513_refused(client, user, oauth_client, remembered):
    signed_in(client, user)
    nonce = "n" * 512
    assert code_row(client.get(AUTHORIZE, params_for(oauth_client, nonce=nonce))).nonce == nonce
    response = client.get(AUTHORIZE, params_for(oauth_client, nonce=nonce + "n"))
    assert_redirected_error(response, "invalid_request")


# --- Carrying the parameters through the login page and the consent form ---------------------

OIDC_PARAMETERS = {
    "nonce": "n-0S6",
    "login_hint": "alice",
    "ui_locales": "en",
    "acr_values": "urn:example:loa:2",
    "claims": '{"userinfo": {"email": null}}',
}


def test_new_parameters_survive_the_login_page_and_the_consent_form(client, user, oauth_client):
    hint = sign_id_token(oauth_client, str(user.pk))
    params = params_for(oauth_client, id_token_hint=hint, max_age="3600", **OIDC_PARAMETERS)
    next_url = login_redirect_query(client.get(AUTHORIZE, params))["next"]
    resumed = query_of(next_url)
    for name, value in {**OIDC_PARAMETERS, "id_token_hint": hint}.items():
        assert resumed[name] == value, name
    log_in_through_form(client, next_url)
    form = consent_form(client.get(next_url))
    for name, value in OIDC_PARAMETERS.items():
        assert form[name] == value, name
    code = code_row(client.post(AUTHORIZE, {**form, "decision": "allow"}))
    assert code.nonce == "n-0S6"


# --- response_mode (OAuth 2.0 Form Post Response Mode) ---------------------------------------


def assert_form_post_page(response, *, action: str = REDIRECT_URI) -> dict[str, str]:
    """A self-submitting page posting to the redirect URI, framed by nobody."""
    posted_to, fields = form_post_of(response)
    assert posted_to == action
    assert "Location" not in response
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'none'" in csp
    # The one inline script runs by its nonce, which is the header's.
    html = response.content.decode()
    (nonce,) = re.findall(r'<script nonce="([^"]+)">', html)
    assert f"script-src 'nonce-{nonce}'" in csp
    assert "unsafe-inline" not in csp
    assert "<noscript>" in html and '<button type="submit">' in html
    # Our CSRF token must not be posted to the client.
    assert "csrfmiddlewaretoken" not in fields
    assert fields["iss"] == ISSUER
    return fields


def test_form_post_answers_with_a_page_whose_code_redeems(client, user, oauth_client, remembered):
    signed_in(client, user)
    verifier, challenge = pkce_pair()
    params = authorize_params(oauth_client, challenge, response_mode="form_post")
    fields = assert_form_post_page(client.get(AUTHORIZE, params))
    assert set(fields) == {"code", "state", "iss"}
    assert fields["state"] == "xyz"
    response = token_request(
        client,
        oauth_client,
        {
            "grant_type": "authorization_code",
            "code": fields["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
    )
    assert response.status_code == 200, response.content


def test_form_post_after_the_consent_page(client, user, oauth_client):
    signed_in(client, user)
    page = client.get(AUTHORIZE, params_for(oauth_client, response_mode="form_post"))
    form = consent_form(page)
    assert form["response_mode"] == "form_post"
    fields = assert_form_post_page(client.post(AUTHORIZE, {**form, "decision": "deny"}))
    assert fields["error"] == "access_denied"
    assert fields["state"] == "xyz"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        pytest.param({"scope": "read nonsense"}, "invalid_scope", id="bad-scope"),
        pytest.param({"prompt": "none"}, "login_required", id="prompt-none-anonymous"),
        pytest.param({"prompt": "none login"}, "invalid_request", id="prompt-none-combined"),
    ],
)
def test_form_post_carries_errors_too(client, user, oauth_client, change, error):
    if "prompt" not in change:
        signed_in(client, user)  # RFC 9700 §4.11.2: nothing is answered to anonymous users
    params = params_for(oauth_client, response_mode="form_post", **change)
    fields = assert_form_post_page(client.get(AUTHORIZE, params))
    assert fields["error"] == error
    assert fields["error_description"]
    assert fields["state"] == "xyz"
    assert "code" not in fields


def test_form_post_escapes_the_values_it_posts(client, user, oauth_client, remembered):
    # The page is on our origin: a state must not become markup there.
    signed_in(client, user)
    state = "x\"><script>alert(1)</script>&amp;'"
    response = client.get(
        AUTHORIZE, params_for(oauth_client, response_mode="form_post", state=state)
    )
    fields = assert_form_post_page(response)
    assert fields["state"] == state
    assert "<script>alert" not in response.content.decode()


def test_form_post_keeps_a_registered_query_in_the_action(client, user):
    uri = "https://client.example.com/callback?tenant=7"
    tenant = ClientFactory(redirect_uris=[uri], skip_consent=True)
    signed_in(client, user)
    response = client.get(AUTHORIZE, params_for(tenant, response_mode="form_post"))
    assert_form_post_page(response, action=uri)


def test_form_post_is_never_shown_for_an_unproven_redirect_uri(client, user, oauth_client):
    signed_in(client, user)
    params = params_for(
        oauth_client, response_mode="form_post", redirect_uri="https://evil.example/"
    )
    assert_error_page(client.get(AUTHORIZE, params))


@pytest.mark.parametrize(
    ("mode", "words"),
    [("fragment", "fragment"), ("web_message", "response_mode"), ("QUERY", "response_mode")],
)
def test_fragment_and_unknown_response_modes_are_invalid_request_by_query(
    client, user, oauth_client, mode, words
):
    signed_in(client, user)
    response = client.get(AUTHORIZE, params_for(oauth_client, response_mode=mode))
    query = assert_redirected_error(response, "invalid_request")
    assert words in query["error_description"]


def test_repeated_form_post_is_answered_by_query(client, user, oauth_client):
    signed_in(client, user)
    params = params_for(oauth_client, response_mode=["form_post", "form_post"])
    assert_redirected_error(client.get(AUTHORIZE, params), "invalid_request")


def test_form_post_to_a_private_use_scheme_is_refused(client, user):
    app = ClientFactory(public=True, redirect_uris=["com.example.app:/cb"])
    signed_in(client, user)
    response = client.get(AUTHORIZE, params_for(app, response_mode="form_post"))
    query = assert_redirected_error(response, "invalid_request", redirect_uri="com.example.app:/cb")
    assert "form_post" in query["error_description"]


def test_query_response_mode_is_the_default_behaviour(client, user, oauth_client, remembered):
    signed_in(client, user)
    response = client.get(AUTHORIZE, params_for(oauth_client, response_mode="query"))
    assert code_row(response)
    assert response["Location"].startswith(REDIRECT_URI + "?")
