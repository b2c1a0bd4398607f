"""The authorization endpoint through real requests: error page or redirected error,
login, the consent page and remembered consent (RFC 6749 §3.1, §4.1.1, §4.1.2, §4.1.2.1;
RFC 9207; security checklist 2, 3, 6, 15, 16)."""

from datetime import timedelta
from urllib.parse import unquote, urlsplit

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from oauthkit.provider.models import AuthorizationCode, Consent
from oauthkit.testing.factories import ClientFactory, ConsentFactory
from tests.helpers import (
    ISSUER,
    REDIRECT_URI,
    assert_error_page,
    assert_redirected_error,
    authorize_params,
    consent_form,
    pkce_pair,
    query_of,
    redeem,
    token_request,
)

pytestmark = pytest.mark.django_db

AUTHORIZE = "/o/authorize/"


def params_for(oauth_client, **extra) -> dict:
    """A valid authorization request with a fresh S256 challenge."""
    _, challenge = pkce_pair()
    return authorize_params(oauth_client, challenge, **extra)


def assert_consent_page(response) -> None:
    assert response.status_code == 200, (response.status_code, response.content)
    assert "oauthkit/provider/authorize.html" in [t.name for t in response.templates]


def assert_code_redirect(response, *, status: int = 302, redirect_uri: str = REDIRECT_URI):
    assert response.status_code == status, (response.status_code, response.content)
    assert response["Location"].startswith(redirect_uri + "?"), response["Location"]
    query = query_of(response["Location"])
    assert query["code"]
    assert query["iss"] == ISSUER  # RFC 9207 §2
    return query


# --- Errors shown on a page, never redirected (RFC 6749 §4.1.2.1, checklist 2) -------------


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda c: {"client_id": None}, id="missing-client_id"),
        pytest.param(lambda c: {"client_id": "ok_unknown"}, id="unknown-client_id"),
        pytest.param(lambda c: {"redirect_uri": "https://evil.example/cb"}, id="unregistered-uri"),
        pytest.param(lambda c: {"redirect_uri": ""}, id="empty-redirect_uri"),
        pytest.param(lambda c: {"client_id": [c.client_id] * 2}, id="repeated-client_id"),
        pytest.param(lambda c: {"redirect_uri": [REDIRECT_URI] * 2}, id="repeated-redirect_uri"),
    ],
)
def test_unproven_client_or_redirect_uri_shows_the_error_page(client, user, oauth_client, change):
    client.force_login(user)
    response = client.get(AUTHORIZE, params_for(oauth_client, **change(oauth_client)))
    assert_error_page(response)
    assert response["X-Frame-Options"] == "DENY"  # checklist 15
    assert not AuthorizationCode.objects.exists()


def test_inactive_client_shows_the_error_page(client, user):
    inactive = ClientFactory(is_active=False)
    client.force_login(user)
    assert_error_page(client.get(AUTHORIZE, params_for(inactive)))


def test_unknown_client_shows_the_error_page_before_asking_an_anonymous_user_to_log_in(client):
    params = params_for(ClientFactory.build(client_id="ok_nobody"))
    assert_error_page(client.get(AUTHORIZE, params))


def test_error_page_even_when_other_parameters_are_also_wrong(client, user, oauth_client):
    # The redirect URI is checked before anything that would be redirected.
    client.force_login(user)
    params = params_for(oauth_client, redirect_uri="https://evil.example/cb", response_type="token")
    assert_error_page(client.get(AUTHORIZE, params))


def test_omitted_redirect_uri_with_one_registered_uses_it_and_the_token_request_needs_none(
    client, user, oauth_client
):
    # RFC 6749 §3.1.2.3 and §4.1.3: redirect_uri is required at the token endpoint only
    # when it was included in the authorization request.
    client.force_login(user)
    verifier, challenge = pkce_pair()
    params = authorize_params(oauth_client, challenge, redirect_uri=None)
    page = client.get(AUTHORIZE, params)
    form = consent_form(page)
    assert "redirect_uri" not in form
    query = assert_code_redirect(client.post(AUTHORIZE, {**form, "decision": "allow"}), status=303)
    response = token_request(
        client,
        oauth_client,
        {"grant_type": "authorization_code", "code": query["code"], "code_verifier": verifier},
    )
    assert response.status_code == 200, response.content
    assert response.json()["access_token"]


def test_omitted_redirect_uri_with_several_registered_shows_the_error_page(client, user):
    several = ClientFactory(redirect_uris=[REDIRECT_URI, "https://client.example.com/other"])
    client.force_login(user)
    assert_error_page(client.get(AUTHORIZE, params_for(several, redirect_uri=None)))


# --- Errors redirected to the proven redirect URI (RFC 6749 §4.1.2.1) ------------------------


@pytest.mark.parametrize(
    ("change", "error"),
    [
        pytest.param({"response_type": None}, "invalid_request", id="missing-response_type"),
        pytest.param({"response_type": "token"}, "unsupported_response_type", id="implicit"),
        pytest.param({"response_type": "code token"}, "unsupported_response_type", id="hybrid"),
        pytest.param({"scope": "read nonsense"}, "invalid_scope", id="unknown-scope"),
        pytest.param({"scope": "read\\"}, "invalid_scope", id="malformed-scope"),
        # RFC 6749 §3.1: parameters must not be included more than once.
        pytest.param({"scope": ["read", "write"]}, "invalid_request", id="repeated-scope"),
        pytest.param({"state": ["xyz", "xyz"]}, "invalid_request", id="repeated-state"),
    ],
)
def test_bad_request_is_redirected_with_error_state_and_iss(
    client, user, oauth_client, change, error
):
    client.force_login(user)
    response = client.get(AUTHORIZE, params_for(oauth_client, **change))
    assert_redirected_error(response, error)
    assert response.status_code == 302  # checklist 3: never 307
    assert not AuthorizationCode.objects.exists()


def test_client_without_the_code_grant_is_unauthorized_client(client, user):
    machine = ClientFactory(grant_types=["client_credentials"])
    client.force_login(user)
    assert_redirected_error(client.get(AUTHORIZE, params_for(machine)), "unauthorized_client")


def test_scope_not_allowed_for_the_client_is_invalid_scope(client, user):
    # RFC 6749 §3.3: the server may refuse scopes the client may not request.
    reader = ClientFactory(scopes=["read"])
    client.force_login(user)
    response = client.get(AUTHORIZE, params_for(reader, scope="read write"))
    assert_redirected_error(response, "invalid_scope")


def test_error_redirect_keeps_the_registered_query_and_omits_absent_state(client, user):
    # RFC 6749 §3.1.2: the redirect URI's query component must be retained.
    uri = "https://client.example.com/callback?tenant=7"
    tenant = ClientFactory(redirect_uris=[uri])
    client.force_login(user)
    response = client.get(AUTHORIZE, params_for(tenant, response_type="token", state=None))
    query = assert_redirected_error(
        response, "unsupported_response_type", redirect_uri=uri, state=None
    )
    assert query["tenant"] == "7"
    assert "state" not in query


def test_an_anonymous_user_signs_in_before_an_error_is_redirected(client, user, oauth_client):
    # RFC 9700 §4.11.2: no redirect to the client, not even an error, before the user is
    # authenticated; otherwise anyone who registers a client has an open redirector.
    params = params_for(oauth_client, scope="no-such-scope")
    response = client.get(AUTHORIZE, params)
    assert response.status_code == 302
    login = urlsplit(response["Location"])
    assert login.path == "/accounts/login/"
    next_url = unquote(login.query.removeprefix("next="))

    client.force_login(user)
    assert_redirected_error(client.get(next_url), "invalid_scope")


def test_with_prompt_none_an_anonymous_users_error_is_redirected_at_once(client, oauth_client):
    # The silent-authentication exception of RFC 9700 §4.11.2: nobody can be asked.
    response = client.get(
        AUTHORIZE, params_for(oauth_client, scope="openid no-such-scope", prompt="none")
    )
    error = assert_redirected_error(response, "invalid_scope")
    assert error["error"] == "invalid_scope"


# --- Login ------------------------------------------------------------------------------------


def test_anonymous_user_logs_in_and_comes_back_to_the_consent_page(client, user, oauth_client):
    params = params_for(oauth_client)
    response = client.get(AUTHORIZE, params)
    assert response.status_code == 302
    login = urlsplit(response["Location"])
    assert login.path == "/accounts/login/"
    next_url = unquote(login.query.removeprefix("next="))
    assert next_url.startswith(AUTHORIZE + "?")
    assert query_of(next_url)["client_id"] == oauth_client.client_id
    assert not AuthorizationCode.objects.exists()

    logged_in = client.post(
        "/accounts/login/", {"username": "alice", "password": "password", "next": next_url}
    )
    assert logged_in.status_code == 302
    assert logged_in["Location"] == next_url

    page = client.get(next_url)
    assert_consent_page(page)
    assert "Example App" in page.content.decode()
    query = assert_code_redirect(
        client.post(AUTHORIZE, {**consent_form(page), "decision": "allow"}), status=303
    )
    # The sign-in time recorded at login travels with the code (OIDC auth_time).
    assert AuthorizationCode.objects.get().auth_time is not None
    assert query["state"] == "xyz"


# --- The consent page -------------------------------------------------------------------------


def test_consent_page_names_the_client_and_describes_each_scope(client, user, oauth_client):
    client.force_login(user)
    page = client.get(AUTHORIZE, params_for(oauth_client, scope="read write email"))
    assert_consent_page(page)
    html = page.content.decode()
    assert "Example App" in html
    for description in ("Read your data", "Change your data", "See your email address"):
        assert description in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert consent_form(page)["scope"] == "read write email"
    # Checklist 15 and 16: no framing, no referrer, not cached.
    assert page["X-Frame-Options"] == "DENY"
    assert page["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert page["Referrer-Policy"] == "no-referrer"
    assert page["Cache-Control"] == "no-store"
    assert "Access-Control-Allow-Origin" not in page  # checklist 14
    assert not AuthorizationCode.objects.exists()


def test_allow_redirects_with_code_state_and_iss_using_303(client, user, oauth_client):
    client.force_login(user)
    page = client.get(AUTHORIZE, params_for(oauth_client))
    response = client.post(AUTHORIZE, {**consent_form(page), "decision": "allow"})
    # RFC 9700 §4.12 / checklist 3: 303 after a POST, so the browser does not re-post.
    query = assert_code_redirect(response, status=303)
    assert query["state"] == "xyz"
    assert query["iss"] == "https://testserver"
    assert set(query) == {"code", "state", "iss"}
    code = AuthorizationCode.objects.get()
    assert (code.user, code.client, code.scope) == (user, oauth_client, "read")
    assert Consent.objects.get(user=user, client=oauth_client).scope == "read"


def test_deny_redirects_access_denied_with_state(client, user, oauth_client):
    client.force_login(user)
    page = client.get(AUTHORIZE, params_for(oauth_client))
    response = client.post(AUTHORIZE, {**consent_form(page), "decision": "deny"})
    assert response.status_code == 303
    assert_redirected_error(response, "access_denied")
    assert not AuthorizationCode.objects.exists()
    assert not Consent.objects.exists()


@pytest.mark.parametrize("decision", [None, "maybe"])
def test_post_without_a_decision_shows_the_error_page(client, user, oauth_client, decision):
    client.force_login(user)
    form = consent_form(client.get(AUTHORIZE, params_for(oauth_client)))
    if decision:
        form["decision"] = decision
    assert_error_page(client.post(AUTHORIZE, form))
    assert not AuthorizationCode.objects.exists()


def test_consent_post_without_the_csrf_token_is_rejected(user, oauth_client):
    browser = HttpClient(enforce_csrf_checks=True)
    browser.force_login(user)
    page = browser.get(AUTHORIZE, params_for(oauth_client))
    form = consent_form(page)
    token = form.pop("csrfmiddlewaretoken")
    forged = browser.post(AUTHORIZE, {**form, "decision": "allow"})
    assert forged.status_code == 403
    assert "Location" not in forged
    assert not AuthorizationCode.objects.exists()

    genuine = browser.post(AUTHORIZE, {**form, "decision": "allow", "csrfmiddlewaretoken": token})
    assert_code_redirect(genuine, status=303)


def test_tampered_consent_post_is_checked_again(client, user, oauth_client):
    # The POST carries the request in hidden fields; it is validated like the GET.
    client.force_login(user)
    form = consent_form(client.get(AUTHORIZE, params_for(oauth_client)))
    assert_error_page(
        client.post(
            AUTHORIZE, {**form, "redirect_uri": "https://evil.example/", "decision": "allow"}
        )
    )
    response = client.post(AUTHORIZE, {**form, "scope": "read nonsense", "decision": "allow"})
    assert_redirected_error(response, "invalid_scope")
    assert not AuthorizationCode.objects.exists()


# --- Remembered consent -------------------------------------------------------------------


def allow_once(http, oauth_client, scope: str) -> None:
    page = http.get(AUTHORIZE, params_for(oauth_client, scope=scope))
    assert_code_redirect(
        http.post(AUTHORIZE, {**consent_form(page), "decision": "allow"}), status=303
    )


@pytest.mark.parametrize("scope", ["read write", "read", "write"])
def test_remembered_consent_skips_the_page_for_the_same_or_fewer_scopes(
    client, user, oauth_client, scope
):
    client.force_login(user)
    allow_once(client, oauth_client, "read write")
    response = client.get(AUTHORIZE, params_for(oauth_client, scope=scope))
    query = assert_code_redirect(response)
    assert query["state"] == "xyz"
    assert AuthorizationCode.objects.filter(scope=scope).exists()


def test_more_scopes_than_remembered_show_the_page_and_are_then_added(client, user, oauth_client):
    client.force_login(user)
    allow_once(client, oauth_client, "read")
    page = client.get(AUTHORIZE, params_for(oauth_client, scope="read write"))
    assert_consent_page(page)
    assert_consent_page(client.get(AUTHORIZE, params_for(oauth_client, scope="write")))
    allow_once(client, oauth_client, "write")
    # What was granted before is kept: both scopes are now remembered.
    assert set(Consent.objects.get().scope.split()) == {"read", "write"}
    assert_code_redirect(client.get(AUTHORIZE, params_for(oauth_client, scope="read write")))


def test_consent_of_another_user_or_client_is_not_reused(client, user, oauth_client):
    ConsentFactory(client=oauth_client, scope="read")  # another user
    ConsentFactory(user=user, scope="read")  # another client
    client.force_login(user)
    assert_consent_page(client.get(AUTHORIZE, params_for(oauth_client)))


def test_skip_consent_client_never_shows_the_page(client, user):
    first_party = ClientFactory(skip_consent=True)
    client.force_login(user)
    assert_code_redirect(client.get(AUTHORIZE, params_for(first_party, scope="read write")))


@pytest.mark.parametrize(
    "state",
    [
        pytest.param({"expires_at": timezone.now() - timedelta(seconds=1)}, id="expired"),
        pytest.param({"revoked_at": timezone.now()}, id="revoked"),
    ],
)
def test_expired_or_revoked_consent_shows_the_page_again(client, user, oauth_client, state):
    ConsentFactory(user=user, client=oauth_client, scope="read write", **state)
    client.force_login(user)
    assert_consent_page(client.get(AUTHORIZE, params_for(oauth_client)))


def test_valid_stored_consent_skips_the_page(client, user, oauth_client):
    ConsentFactory(user=user, client=oauth_client, scope="read write")
    client.force_login(user)
    assert_code_redirect(client.get(AUTHORIZE, params_for(oauth_client)))


# --- prompt=none (OpenID Connect Core §3.1.2.6) -------------------------------------------


def test_prompt_none_for_an_anonymous_user_is_login_required(client, oauth_client):
    response = client.get(AUTHORIZE, params_for(oauth_client, prompt="none"))
    assert_redirected_error(response, "login_required")


def test_prompt_none_without_consent_is_consent_required(client, user, oauth_client):
    client.force_login(user)
    response = client.get(AUTHORIZE, params_for(oauth_client, prompt="none"))
    assert_redirected_error(response, "consent_required")
    assert not AuthorizationCode.objects.exists()


def test_prompt_none_with_remembered_consent_returns_a_code(client, user, oauth_client):
    ConsentFactory(user=user, client=oauth_client, scope="read")
    client.force_login(user)
    assert_code_redirect(client.get(AUTHORIZE, params_for(oauth_client, prompt="none")))


# --- Native apps (RFC 8252 §7.1) ------------------------------------------------------------


def test_private_use_scheme_redirect_carries_the_code_and_it_redeems(client, user):
    app = ClientFactory(public=True, redirect_uris=["com.example.app:/cb"])
    client.force_login(user)
    verifier, challenge = pkce_pair()
    params = authorize_params(app, challenge)
    page = client.get(AUTHORIZE, params)
    response = client.post(AUTHORIZE, {**consent_form(page), "decision": "allow"})
    query = assert_code_redirect(response, status=303, redirect_uri="com.example.app:/cb")
    assert response["Location"].startswith("com.example.app:/cb?")
    assert redeem(client, app, query["code"], verifier).status_code == 200


def test_private_use_scheme_with_capital_letters_redirects(client, user):
    # URI schemes are case-insensitive (RFC 3986 §3.1); the redirect uses the canonical form.
    app = ClientFactory(public=True, skip_consent=True, redirect_uris=["Com.Example.App:/cb"])
    app.full_clean()
    client.force_login(user)
    response = client.get(AUTHORIZE, params_for(app))
    assert_code_redirect(response, redirect_uri="com.example.app:/cb")


def test_private_use_scheme_receives_redirected_errors(client, user):
    app = ClientFactory(public=True, redirect_uris=["com.example.app:/cb"])
    client.force_login(user)
    response = client.get(AUTHORIZE, params_for(app, response_type="token"))
    assert_redirected_error(
        response, "unsupported_response_type", redirect_uri="com.example.app:/cb"
    )


@pytest.mark.parametrize(
    ("logo_uri", "shown"),
    [
        ("https://testserver/static/app.png", True),
        ("https://cdn.client.example.com/logo.png", False),  # third party: not loaded
        ("http://testserver/static/app.png", False),  # another origin (scheme)
    ],
)
def test_consent_page_loads_the_logo_only_from_this_site(client, user, logo_uri, shown):
    # RFC 9700 §4.16, checklist 16: no third-party resources on the consent page.
    app = ClientFactory(logo_uri=logo_uri)
    client.force_login(user)
    response = client.get(AUTHORIZE, params_for(app))
    assert_consent_page(response)
    assert (logo_uri in response.content.decode()) is shown
