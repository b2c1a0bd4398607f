"""Back-Channel Logout 1.0: logout tokens POSTed to a live receiver on 127.0.0.1."""

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.contrib.auth import views as auth_views
from django.urls import include, path
from jwcrypto import jwk

from oauthkit import jose
from oauthkit.provider import backchannel
from oauthkit.provider.logout import LOGOUT_EVENT
from oauthkit.provider.models import LogoutSession, RefreshToken
from oauthkit.testing.factories import ClientFactory, UserFactory
from tests.helpers import basic, get_code, log_in_through_form, post_form, redeem
from tests.provider.test_query_counts import data_queries_at_most

pytestmark = pytest.mark.django_db

urlpatterns = [
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("tests.urls")),
]


class Receiver:
    """A tiny HTTP server recording the POSTs it gets; ``status`` is its answer, and while
    ``gate`` is unset each request waits for it."""

    def __init__(self):
        self.requests: list[tuple[str, dict, dict]] = []
        self.status = 200
        self.gate = threading.Event()
        self.gate.set()
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.requests.append((self.path, dict(self.headers), parse_qs(body)))
                receiver.arrived.set()
                receiver.gate.wait(10)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def tokens(self, path: str) -> list[str]:
        return [body["logout_token"][0] for p, _, body in self.requests if p == path]


@pytest.fixture
def receiver(monkeypatch):
    # No pauses between attempts in tests; the number of attempts stays the same.
    monkeypatch.setattr(backchannel, "RETRY_DELAYS", (0.0, 0.0))
    server = Receiver()
    server.thread.start()
    yield server
    server.gate.set()
    assert backchannel.wait_for_deliveries(10)
    server.server.shutdown()
    server.server.server_close()


def id_token_claims(http, rp, scope="openid") -> dict:
    code, verifier = get_code(http, rp, scope=scope)
    response = redeem(http, rp, code, verifier)
    assert response.status_code == 200, response.content
    token = response.json()["id_token"]
    return jose.verify(token, jwks_keys(http), algs=("RS256",))[1]


def jwks_keys(http) -> dict:
    document = http.get("/o/jwks/").json()
    return {key["kid"]: jwk.JWK(**key) for key in document["keys"]}


def verify_logout_token(http, token: str, rp) -> dict:
    # Back-Channel Logout §2.4: signed, typed logout+jwt, verifiable with the JWKS.
    header, claims = jose.verify(token, jwks_keys(http), algs=("RS256",), typ="logout+jwt")
    assert header["typ"] == "logout+jwt"
    assert claims["iss"] == "https://testserver"
    assert claims["aud"] == rp.client_id
    assert claims["events"] == {LOGOUT_EVENT: {}}
    assert isinstance(claims["iat"], int)
    assert 0 < claims["exp"] - claims["iat"] <= 120
    assert claims["jti"]
    assert "nonce" not in claims
    return claims


def test_each_client_that_got_an_id_token_in_the_session_gets_one_logout_token(
    client, user, receiver
):
    first = ClientFactory(backchannel_logout_uri=receiver.url("/first"))
    second = ClientFactory(backchannel_logout_uri=receiver.url("/second"), subject_type="pairwise")
    no_id_token = ClientFactory(backchannel_logout_uri=receiver.url("/no-id-token"))
    no_uri = ClientFactory()
    client.force_login(user)
    first_claims = id_token_claims(client, first)
    id_token_claims(client, first, scope="openid read")  # a second ID token, same session
    second_claims = id_token_claims(client, second)
    id_token_claims(client, no_uri)
    get_code(client, no_id_token, scope="read")  # tokens without openid: no ID token

    response = client.post("/o/end_session/", {"client_id": first.client_id, "decision": "logout"})

    assert response.status_code == 200
    assert backchannel.wait_for_deliveries(10)
    assert sorted(p for p, _, _ in receiver.requests) == ["/first", "/second"]
    for where, headers, _ in receiver.requests:
        # §2.5: POSTed as a form.
        assert headers["Content-Type"] == "application/x-www-form-urlencoded", where
    (first_token,) = receiver.tokens("/first")
    (second_token,) = receiver.tokens("/second")
    first_logout = verify_logout_token(client, first_token, first)
    second_logout = verify_logout_token(client, second_token, second)
    # The sid and sub of the ID tokens (the pairwise sub for the pairwise client).
    assert first_logout["sid"] == first_claims["sid"] == second_claims["sid"]
    assert first_logout["sub"] == first_claims["sub"] == str(user.pk)
    assert second_logout["sub"] == second_claims["sub"] != str(user.pk)
    assert first_logout["jti"] != second_logout["jti"]
    assert not LogoutSession.objects.exists()


def test_the_sites_own_logout_view_sends_logout_tokens(client, user, receiver, settings):
    settings.ROOT_URLCONF = __name__
    rp = ClientFactory(backchannel_logout_uri=receiver.url("/bc"))
    log_in_through_form(client, "/o/jwks/")
    claims = id_token_claims(client, rp)

    response = client.post("/accounts/logout/")

    assert response.status_code in (200, 302)
    assert backchannel.wait_for_deliveries(10)
    (token,) = receiver.tokens("/bc")
    assert verify_logout_token(client, token, rp)["sid"] == claims["sid"]


def test_a_failing_receiver_is_retried_then_given_up_and_logged(client, user, receiver, caplog):
    receiver.status = 500
    rp = ClientFactory(backchannel_logout_uri=receiver.url("/bc"))
    client.force_login(user)
    id_token_claims(client, rp)

    with caplog.at_level(logging.WARNING, logger="oauthkit.backchannel"):
        response = client.post("/o/end_session/", {"client_id": rp.client_id, "decision": "logout"})
        assert backchannel.wait_for_deliveries(10)

    assert response.status_code == 200
    tokens = receiver.tokens("/bc")
    assert len(tokens) == 3  # bounded retries
    assert "failed after 3 attempt(s)" in caplog.text
    assert tokens[0] not in caplog.text  # tokens are never logged


def test_a_refusal_is_not_retried(client, user, receiver, caplog):
    receiver.status = 400
    rp = ClientFactory(backchannel_logout_uri=receiver.url("/bc"))
    client.force_login(user)
    id_token_claims(client, rp)

    with caplog.at_level(logging.WARNING, logger="oauthkit.backchannel"):
        client.post("/o/end_session/", {"client_id": rp.client_id, "decision": "logout"})
        assert backchannel.wait_for_deliveries(10)

    # §2.8: a 400 means the client rejected the token; sending it again cannot help.
    assert len(receiver.tokens("/bc")) == 1
    assert "HTTP 400" in caplog.text


def test_the_logout_page_does_not_wait_for_the_delivery(client, user, receiver):
    receiver.gate.clear()  # the receiver holds every request until the page has answered
    rp = ClientFactory(backchannel_logout_uri=receiver.url("/bc"))
    client.force_login(user)
    id_token_claims(client, rp)

    response = client.post("/o/end_session/", {"client_id": rp.client_id, "decision": "logout"})

    assert response.status_code == 200
    assert not backchannel.wait_for_deliveries(0)  # still in flight after the page answered
    receiver.gate.set()
    assert backchannel.wait_for_deliveries(10)
    assert len(receiver.tokens("/bc")) == 1


def test_a_new_sign_in_keeps_the_sid_and_refresh_carries_it(client, user, receiver):
    rp = ClientFactory(backchannel_logout_uri=receiver.url("/bc"))
    log_in_through_form(client, "/o/jwks/")
    code, verifier = get_code(client, rp, scope="openid")
    tokens = redeem(client, rp, code, verifier).json()
    first = jose.verify(tokens["id_token"], jwks_keys(client), algs=("RS256",))[1]
    log_in_through_form(client, "/o/jwks/")  # re-authentication (prompt=login, max_age)
    again = id_token_claims(client, rp)

    refreshed = post_form(
        client,
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic(rp.client_id, rp.raw_secret),
    ).json()

    refreshed_claims = jose.verify(refreshed["id_token"], jwks_keys(client), algs=("RS256",))[1]
    assert first["sid"] == again["sid"] == refreshed_claims["sid"]
    assert RefreshToken.objects.filter(sid=first["sid"]).exists()


def test_another_user_signing_in_gets_a_new_sid(client, user, receiver):
    rp = ClientFactory(backchannel_logout_uri=receiver.url("/bc"))
    client.force_login(user)
    first = id_token_claims(client, rp)
    client.force_login(UserFactory(username="bob"))

    assert id_token_claims(client, rp)["sid"] != first["sid"]


def test_openid_code_exchange_costs_one_insert_more(
    client, user, receiver, django_assert_max_num_queries
):
    rp = ClientFactory(backchannel_logout_uri=receiver.url("/bc"))
    client.force_login(user)
    code, verifier = get_code(client, rp, scope="openid")

    # test_query_counts' six, plus the LogoutSession INSERT.
    with data_queries_at_most(7, django_assert_max_num_queries):
        response = redeem(client, rp, code, verifier)

    assert response.status_code == 200
    assert LogoutSession.objects.filter(client=rp, user=user).count() == 1
