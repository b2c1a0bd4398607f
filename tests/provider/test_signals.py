"""Signals report what happened, and log lines never carry a token, code or secret."""

from __future__ import annotations

import logging

import pytest

from oauthkit.provider import signals
from oauthkit.provider.models import AccessToken, Client, RefreshToken
from oauthkit.testing.factories import ClientFactory
from tests.helpers import (
    assert_oauth_error,
    authorize_params,
    basic_auth,
    get_code,
    pkce_pair,
    post_form,
    query_of,
    redeem,
)
from tests.provider._device import answer, device_app, poll, start

pytestmark = pytest.mark.django_db

SIGNALS = {
    "token_issued": signals.token_issued,
    "token_revoked": signals.token_revoked,
    "refresh_token_reused": signals.refresh_token_reused,
    "authorization_code_reused": signals.authorization_code_reused,
    "device_code_reused": signals.device_code_reused,
    "consent_granted": signals.consent_granted,
    "consent_denied": signals.consent_denied,
}


class Recorder:
    """Receives every oauthkit signal; ``events`` is a list of (name, kwargs)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []

    def named(self, name: str) -> list[dict]:
        return [kwargs for event, kwargs in self.events if event == name]

    def one(self, name: str) -> dict:
        found = self.named(name)
        assert len(found) == 1, (name, self.names())
        return found[0]

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def clear(self) -> None:
        self.events.clear()


@pytest.fixture
def recorder():
    recorder = Recorder()
    receivers = {}
    for name, signal in SIGNALS.items():

        def receive(sender, signal=None, _name=name, **kwargs):
            recorder.events.append((_name, {"sender": sender, **kwargs}))

        receivers[name] = receive
        signal.connect(receive, weak=False)
    yield recorder
    for name, signal in SIGNALS.items():
        signal.disconnect(receivers[name])


def client_credentials(http, oauth_client):
    data = {"grant_type": "client_credentials"}
    return post_form(http, "/o/token/", data, **basic_auth(oauth_client))


def refresh(http, oauth_client, refresh_token: str):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return post_form(http, "/o/token/", data, **basic_auth(oauth_client))


def revoke(http, oauth_client, token: str, **extra):
    data = {"token": token, **extra}
    return post_form(http, "/o/revoke/", data, **basic_auth(oauth_client))


@pytest.fixture
def tokens(client, user, oauth_client):
    """A logged-in browser that went through authorize → consent → code exchange."""
    client.force_login(user)
    code, verifier = get_code(client, oauth_client)
    response = redeem(client, oauth_client, code, verifier)
    assert response.status_code == 200, response.content
    return response.json()


# --- token_issued ----------------------------------------------------------------------------


def test_token_issued_on_client_credentials(client, oauth_client, recorder):
    response = client_credentials(client, oauth_client)
    assert response.status_code == 200

    event = recorder.one("token_issued")
    assert event["sender"] is Client
    assert event["client"] == oauth_client
    assert event["user"] is None
    assert event["grant_type"] == "client_credentials"
    assert event["access_token"] == AccessToken.objects.get()
    assert event["refresh_token"] is None
    assert event["request"].path == "/o/token/"
    assert recorder.names() == ["token_issued"]


def test_token_issued_on_code_exchange(client, user, oauth_client, recorder):
    client.force_login(user)
    code, verifier = get_code(client, oauth_client)
    recorder.clear()

    response = redeem(client, oauth_client, code, verifier)

    assert response.status_code == 200
    event = recorder.one("token_issued")
    assert event["grant_type"] == "authorization_code"
    assert event["client"] == oauth_client
    assert event["user"] == user
    assert event["access_token"] == AccessToken.objects.get()
    assert event["refresh_token"] == RefreshToken.objects.get()
    assert event["access_token"].grant_id == event["refresh_token"].grant_id


def test_token_issued_on_refresh(client, user, oauth_client, tokens, recorder):
    response = refresh(client, oauth_client, tokens["refresh_token"])

    assert response.status_code == 200
    event = recorder.one("token_issued")
    assert event["grant_type"] == "refresh_token"
    assert event["user"] == user
    assert event["refresh_token"] == RefreshToken.objects.get(rotated_at__isnull=True)


def test_no_token_issued_when_the_request_fails(client, oauth_client, recorder):
    data = {"grant_type": "client_credentials", "scope": "no-such-scope"}
    response = post_form(client, "/o/token/", data, **basic_auth(oauth_client))
    assert response.status_code == 400
    assert recorder.events == []


# --- token_revoked ---------------------------------------------------------------------------


def test_token_revoked_on_access_token_revocation(client, oauth_client, tokens, recorder):
    response = revoke(client, oauth_client, tokens["access_token"])

    assert response.status_code == 200
    event = recorder.one("token_revoked")
    assert event["client"] == oauth_client
    assert event["reason"] == "revocation_endpoint"
    assert event["count"] == 1
    assert event["grant_id"] is None


def test_token_revoked_on_refresh_token_revocation_names_the_grant(
    client, oauth_client, tokens, recorder
):
    # RFC 7009 §2.1: revoking the refresh token revokes the access tokens of its grant.
    response = revoke(client, oauth_client, tokens["refresh_token"])

    assert response.status_code == 200
    event = recorder.one("token_revoked")
    assert event["grant_id"] == RefreshToken.objects.get().grant_id
    assert event["count"] == 2
    assert event["reason"] == "revocation_endpoint"


def test_no_token_revoked_for_another_clients_token(client, oauth_client, tokens, recorder):
    # RFC 7009 §2.1: the token was not issued to this client; nothing happens.
    other = ClientFactory()
    response = revoke(client, other, tokens["refresh_token"])
    assert response.status_code == 200
    assert recorder.events == []


# --- reuse ----------------------------------------------------------------------------------


def test_refresh_token_reuse_is_reported_and_the_family_revoked(
    client, user, oauth_client, tokens, recorder
):
    first = refresh(client, oauth_client, tokens["refresh_token"])
    assert first.status_code == 200
    recorder.clear()

    replay = refresh(client, oauth_client, tokens["refresh_token"])

    # RFC 9700 §4.14.2: a rotated refresh token used again revokes the whole grant.
    assert_oauth_error(replay, "invalid_grant")
    reused = recorder.one("refresh_token_reused")
    grant_id = RefreshToken.objects.first().grant_id
    assert reused["client"] == oauth_client
    assert reused["user"] == user
    assert reused["grant_id"] == grant_id
    revoked = recorder.one("token_revoked")
    assert (revoked["grant_id"], revoked["reason"]) == (grant_id, "refresh_token_reused")
    assert "token_issued" not in recorder.names()


def test_authorization_code_reuse_is_reported_and_its_tokens_revoked(
    client, user, oauth_client, recorder
):
    client.force_login(user)
    code, verifier = get_code(client, oauth_client)
    assert redeem(client, oauth_client, code, verifier).status_code == 200
    recorder.clear()

    replay = redeem(client, oauth_client, code, verifier)

    # RFC 6749 §4.1.2: a second use should revoke the tokens issued on the first.
    assert_oauth_error(replay, "invalid_grant")
    reused = recorder.one("authorization_code_reused")
    grant_id = AccessToken.objects.get().grant_id
    assert (reused["client"], reused["user"], reused["grant_id"]) == (oauth_client, user, grant_id)
    revoked = recorder.one("token_revoked")
    assert revoked["reason"] == "authorization_code_reused"
    assert revoked["count"] == 2


def test_device_code_reuse_is_reported_and_its_tokens_revoked(client, user, recorder):
    app = device_app()
    body = start(client, app)
    answer(client, user, body["user_code"])
    assert poll(client, app, body["device_code"]).status_code == 200
    recorder.clear()

    assert_oauth_error(poll(client, app, body["device_code"]), "invalid_grant")

    reused = recorder.one("device_code_reused")
    grant_id = AccessToken.objects.get().grant_id
    assert (reused["client"], reused["user"], reused["grant_id"]) == (app, user, grant_id)
    revoked = recorder.one("token_revoked")
    assert (revoked["reason"], revoked["count"]) == ("device_code_reused", 2)


# --- consent ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "signal_name", "other"),
    [("allow", "consent_granted", "consent_denied"), ("deny", "consent_denied", "consent_granted")],
)
def test_consent_answer_is_reported(
    client, user, oauth_client, recorder, decision, signal_name, other
):
    client.force_login(user)
    _, challenge = pkce_pair()
    params = authorize_params(oauth_client, challenge, scope="read write")
    page = client.get("/o/authorize/", params)
    assert page.status_code == 200  # the consent page, nothing reported yet
    assert recorder.events == []

    response = client.post("/o/authorize/", {**params, "decision": decision})

    assert response.status_code == 303
    query = query_of(response["Location"])
    assert ("code" in query) == (decision == "allow")
    event = recorder.one(signal_name)
    assert event["client"] == oauth_client
    assert event["user"] == user
    assert list(event["scopes"]) == ["read", "write"]
    assert event["request"].method == "POST"
    assert recorder.named(other) == []


def test_remembered_consent_is_not_reported_again(client, user, oauth_client, recorder):
    client.force_login(user)
    get_code(client, oauth_client)
    assert len(recorder.named("consent_granted")) == 1
    get_code(client, oauth_client)  # consent remembered: no page, no answer
    assert len(recorder.named("consent_granted")) == 1


# --- logging ---------------------------------------------------------------------------------


def test_no_log_line_of_a_full_flow_carries_a_secret(client, user, oauth_client, recorder, caplog):
    # Security checklist 18: tokens, codes and secrets are never logged.
    caplog.set_level(logging.INFO, logger="oauthkit")
    client.force_login(user)
    secrets = [oauth_client.raw_secret, basic_auth(oauth_client)["HTTP_AUTHORIZATION"]]

    code, verifier = get_code(client, oauth_client)
    issued = redeem(client, oauth_client, code, verifier).json()
    replayed_code = redeem(client, oauth_client, code, verifier)  # revokes the grant
    code2, verifier2 = get_code(client, oauth_client)
    issued2 = redeem(client, oauth_client, code2, verifier2).json()
    refreshed = refresh(client, oauth_client, issued2["refresh_token"]).json()
    replayed_refresh = refresh(client, oauth_client, issued2["refresh_token"])
    code3, verifier3 = get_code(client, oauth_client)
    issued3 = redeem(client, oauth_client, code3, verifier3).json()
    introspected = post_form(
        client, "/o/introspect/", {"token": issued3["access_token"]}, **basic_auth(oauth_client)
    )
    revoked = revoke(client, oauth_client, issued3["refresh_token"])
    service = client_credentials(client, oauth_client).json()

    assert replayed_code.status_code == replayed_refresh.status_code == 400
    assert introspected.json()["active"] is True
    assert revoked.status_code == 200
    secrets += [code, verifier, code2, verifier2, code3, verifier3]
    for body in (issued, issued2, refreshed, issued3, service):
        secrets += [body["access_token"], body.get("refresh_token")]
    secrets = [s for s in secrets if s]
    assert len(secrets) == 17

    messages = [record.getMessage() for record in caplog.records]
    oauthkit_lines = [r for r in caplog.records if r.name.startswith("oauthkit")]
    # The flow was logged (so the check below is not vacuous) ...
    assert sum("token issued" in m for m in messages) == 5
    assert any("refresh token reused" in m for m in messages)
    assert any("authorization code reused" in m for m in messages)
    assert any("consent granted" in m for m in messages)
    assert any("tokens revoked" in m for m in messages)
    assert all(r.levelno >= logging.INFO for r in oauthkit_lines)
    # ... and no line carries a token, code, verifier or secret.
    for message in messages:
        for secret in secrets:
            assert secret not in message, message
    # Signals carry rows and ids, not raw values (the request is the caller's own).
    for _, kwargs in recorder.events:
        sent = " ".join(str(v) for k, v in kwargs.items() if k != "request")
        for secret in secrets:
            assert secret not in sent


def test_token_issued_log_line_names_client_user_and_grant_type(client, oauth_client, caplog):
    caplog.set_level(logging.INFO, logger="oauthkit")
    client_credentials(client, oauth_client)
    [line] = [r.getMessage() for r in caplog.records if "token issued" in r.getMessage()]
    assert f"client={oauth_client.client_id}" in line
    assert "user=None" in line
    assert "grant_type=client_credentials" in line
    assert f"jti={AccessToken.objects.get().jti}" in line
