"""RP-Initiated Logout 1.0: the end-session endpoint, through real requests."""

import re
import time

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient

from oauthkit import jose
from oauthkit.provider.models import Client
from oauthkit.testing.factories import ClientFactory, UserFactory
from tests.helpers import (
    authorize_params,
    get_code,
    login_redirect_query,
    pkce_pair,
    query_of,
    redeem,
    sign_id_token,
)
from tests.provider.test_admin import add_client

pytestmark = pytest.mark.django_db

LOGOUT_URI = "https://client.example.com/logged-out"
END_SESSION = "/o/end_session/"


@pytest.fixture
def rp(db):
    return ClientFactory(name="Relying Party", post_logout_redirect_uris=[LOGOUT_URI])


def id_token_for(http, rp) -> str:
    """A real ID token from the code flow, for the signed-in user of ``http``."""
    code, verifier = get_code(http, rp, scope="openid")
    response = redeem(http, rp, code, verifier)
    assert response.status_code == 200, response.content
    return response.json()["id_token"]


def assert_signed_out(http, rp) -> None:
    """The provider session is gone: an authorization request goes to the login page."""
    _, challenge = pkce_pair()
    response = http.get("/o/authorize/", authorize_params(rp, challenge, scope="openid"))
    login_redirect_query(response)


def assert_signed_in(http, user) -> None:
    assert int(http.session["_auth_user_id"]) == user.pk


def assert_protected(response) -> None:
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"


def template_names(response) -> list[str]:
    return [t.name for t in response.templates]


def test_valid_hint_logs_out_at_once_and_redirects_with_state(client, user, rp):
    client.force_login(user)
    hint = id_token_for(client, rp)

    response = client.get(
        END_SESSION,
        {"id_token_hint": hint, "post_logout_redirect_uri": LOGOUT_URI, "state": "s 1"},
    )

    # RP-Initiated Logout §3: back to the registered URI, state echoed; 302 after GET.
    assert response.status_code == 302
    assert response["Location"].startswith(LOGOUT_URI + "?")
    assert query_of(response["Location"]) == {"state": "s 1"}
    assert_protected(response)
    assert_signed_out(client, rp)


def test_post_with_valid_hint_redirects_with_303(client, user, rp):
    client.force_login(user)
    hint = id_token_for(client, rp)

    # §2: the OP supports POST with form serialization; no CSRF token from the RP.
    http = HttpClient(enforce_csrf_checks=True)
    http.cookies = client.cookies
    response = http.post(
        END_SESSION,
        {"id_token_hint": hint, "client_id": rp.client_id, "post_logout_redirect_uri": LOGOUT_URI},
    )

    assert response.status_code == 303
    assert response["Location"] == LOGOUT_URI
    assert_signed_out(client, rp)


def test_expired_hint_still_names_the_user(client, user, rp):
    client.force_login(user)
    # §2: the hint may have expired; it only says who the client thinks is signed in.
    hint = sign_id_token(rp, str(user.pk), exp=int(time.time()) - 3600)

    response = client.get(END_SESSION, {"id_token_hint": hint})

    assert response.status_code == 200
    assert "oauthkit/provider/logged_out.html" in template_names(response)
    assert_signed_out(client, rp)


def test_without_hint_the_user_confirms_then_is_logged_out(user, rp):
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(user)
    params = {"client_id": rp.client_id, "post_logout_redirect_uri": LOGOUT_URI, "state": "st"}

    page = http.get(END_SESSION, params)

    # §2 / §6: not provably from the client, so ask before logging out.
    assert page.status_code == 200
    assert "oauthkit/provider/logout_confirm.html" in template_names(page)
    assert_protected(page)
    assert_signed_in(http, user)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    response = http.post(
        END_SESSION, {**params, "decision": "logout", "csrfmiddlewaretoken": token.group(1)}
    )

    assert response.status_code == 303
    assert query_of(response["Location"]) == {"state": "st"}
    assert_signed_out(http, rp)


def test_confirmation_without_csrf_token_is_refused(user, rp):
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(user)

    response = http.post(END_SESSION, {"client_id": rp.client_id, "decision": "logout"})

    assert response.status_code == 403
    assert_signed_in(http, user)


def test_cancel_keeps_the_user_signed_in(client, user, rp):
    client.force_login(user)

    response = client.post(
        END_SESSION,
        {"client_id": rp.client_id, "post_logout_redirect_uri": LOGOUT_URI, "decision": "cancel"},
    )

    assert response.status_code == 200
    assert "Location" not in response
    assert response.context["cancelled"] is True
    assert_signed_in(client, user)


def test_unregistered_post_logout_redirect_uri_shows_an_error_page(client, user, rp):
    client.force_login(user)
    hint = id_token_for(client, rp)

    response = client.get(
        END_SESSION,
        {"id_token_hint": hint, "post_logout_redirect_uri": "https://evil.example/"},
    )

    # §3.1, checklist 2: no open redirector; nothing happens.
    assert response.status_code == 400
    assert "Location" not in response
    assert "oauthkit/provider/error.html" in template_names(response)
    assert_protected(response)
    assert_signed_in(client, user)


def test_redirect_uri_must_match_exactly(client, user, rp):
    client.force_login(user)
    hint = id_token_for(client, rp)

    response = client.get(
        END_SESSION, {"id_token_hint": hint, "post_logout_redirect_uri": LOGOUT_URI + "/"}
    )

    assert response.status_code == 400
    assert "Location" not in response


def test_redirect_uri_needs_a_known_client(client, user, rp):
    client.force_login(user)

    # §2: without client_id or id_token_hint the URI cannot be checked against a client.
    response = client.get(END_SESSION, {"post_logout_redirect_uri": LOGOUT_URI})

    assert response.status_code == 400
    assert "Location" not in response
    assert_signed_in(client, user)


def test_hint_for_another_user_asks_for_confirmation(client, user, rp):
    bob = UserFactory(username="bob")
    client.force_login(user)
    hint = sign_id_token(rp, str(bob.pk))

    response = client.get(
        END_SESSION, {"id_token_hint": hint, "post_logout_redirect_uri": LOGOUT_URI}
    )

    assert response.status_code == 200
    assert "oauthkit/provider/logout_confirm.html" in template_names(response)
    assert_signed_in(client, user)


def test_client_id_must_be_the_hints_audience(client, user, rp):
    other = ClientFactory(post_logout_redirect_uris=[LOGOUT_URI])
    client.force_login(user)
    hint = id_token_for(client, rp)

    # §2: client_id and the ID token's audience must agree.
    response = client.get(END_SESSION, {"id_token_hint": hint, "client_id": other.client_id})

    assert response.status_code == 400
    assert_signed_in(client, user)


def test_hint_not_signed_by_this_server_is_refused(client, user, rp):
    client.force_login(user)
    forged = sign_id_token(rp, str(user.pk), key=jose.generate_key("RS256"))

    # §4: the OP must validate that it issued the ID token.
    response = client.get(
        END_SESSION, {"id_token_hint": forged, "post_logout_redirect_uri": LOGOUT_URI}
    )

    assert response.status_code == 400
    assert "Location" not in response
    assert_signed_in(client, user)


def test_hint_from_another_issuer_is_refused(client, user, rp):
    client.force_login(user)
    hint = sign_id_token(rp, str(user.pk), iss="https://other.example")

    response = client.get(END_SESSION, {"id_token_hint": hint})

    assert response.status_code == 400
    assert_signed_in(client, user)


def test_without_redirect_uri_the_logged_out_page_is_shown(client, user, rp):
    client.force_login(user)
    hint = id_token_for(client, rp)

    response = client.get(END_SESSION, {"id_token_hint": hint, "state": "unused"})

    assert response.status_code == 200
    assert "oauthkit/provider/logged_out.html" in template_names(response)
    assert response.context["cancelled"] is False
    assert_protected(response)
    assert_signed_out(client, rp)


def test_signed_out_user_is_sent_back_without_a_question(client, rp):
    response = client.get(
        END_SESSION,
        {"client_id": rp.client_id, "post_logout_redirect_uri": LOGOUT_URI, "state": "x"},
    )

    assert response.status_code == 302
    assert query_of(response["Location"]) == {"state": "x"}


def test_ui_locales_chooses_the_page_language(client, user, rp):
    client.force_login(user)

    response = client.get(END_SESSION, {"client_id": rp.client_id, "ui_locales": "fr de"})

    assert response.status_code == 200
    assert response["Content-Language"] == "fr"


def test_repeated_parameter_is_an_error(client, user, rp):
    client.force_login(user)

    response = client.get(
        f"{END_SESSION}?client_id={rp.client_id}&post_logout_redirect_uri={LOGOUT_URI}"
        f"&post_logout_redirect_uri=https://evil.example/"
    )

    assert response.status_code == 400
    assert "Location" not in response


def test_discovery_advertises_the_logout_endpoints(client):
    body = client.get("/.well-known/openid-configuration").json()

    assert body["end_session_endpoint"] == "https://testserver/o/end_session/"
    assert body["backchannel_logout_supported"] is True
    assert body["backchannel_logout_session_supported"] is True


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("post_logout_redirect_uris", ["http://client.example.com/out"]),
        ("post_logout_redirect_uris", ["https://client.example.com/out#frag"]),
        ("backchannel_logout_uri", "http://client.example.com/bc"),
        ("backchannel_logout_uri", "com.example.app:/bc"),
    ],
)
def test_client_validates_logout_uris_like_redirect_uris(field, value):
    rp = ClientFactory.build(**{field: value})

    with pytest.raises(ValidationError) as excinfo:
        rp.clean()

    assert field in excinfo.value.message_dict


def test_client_accepts_valid_logout_uris():
    rp = ClientFactory.build(
        post_logout_redirect_uris=[LOGOUT_URI, "com.example.app:/out"],
        backchannel_logout_uri="https://client.example.com/bc",
    )

    rp.clean()


def test_admin_registers_logout_uris_one_per_line(admin_client):
    response = add_client(
        admin_client,
        post_logout_redirect_uris=f"{LOGOUT_URI}\n\n  com.example.app:/out  \n",
        backchannel_logout_uri="https://partner.example.com/bc",
    )

    assert response.status_code == 200, response.content
    created = Client.objects.get(client_id="ok_partner-app")
    assert created.post_logout_redirect_uris == [LOGOUT_URI, "com.example.app:/out"]
    assert created.backchannel_logout_uri == "https://partner.example.com/bc"


def test_admin_refuses_a_plain_http_backchannel_uri(admin_client):
    response = add_client(admin_client, backchannel_logout_uri="http://partner.example.com/bc")

    assert "only for loopback" in response.content.decode()
    assert not Client.objects.filter(client_id="ok_partner-app").exists()
