"""An ID token in a refresh response (OIDC Core §12.2) is validated as the first one was and
bound to it before it is stored; one that fails makes ``get_access_token`` fail and leaves
the stored tokens as they were.

The scripted provider (conftest.py) answers refreshes with an ID token built here.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import parse_qs

import pytest

from oauthkit import jose
from oauthkit.login.errors import InvalidIDToken, TokenUnavailable
from oauthkit.login.models import LinkedAccount, StoredToken
from oauthkit.login.tokens import get_access_token

from .conftest import CLIENT_ID, IDP, FakeIdP, set_provider, sign_in
from .test_stored_tokens import expire

pytestmark = pytest.mark.django_db


class RefreshAnswer:
    """What the fake provider puts in the ``id_token`` of its refresh responses.

    By default a valid refreshed ID token: the sign-in's claims, new ``iat``/``exp``, no
    ``nonce``. ``claims`` are merged over it (None deletes), ``header`` over its header;
    ``key`` signs instead of the provider's; ``token`` is sent as it is; ``off`` sends none.
    """

    def __init__(self, idp: FakeIdP):
        self.idp = idp
        self.claims: dict[str, Any] = {}
        self.header: dict[str, Any] = {}
        self.key = None
        self.token: str | None = None
        self.off = False
        self.sent: list[str] = []

    def id_token(self) -> str:
        if self.token is not None:
            return self.token
        now = int(time.time())
        claims = {**self.idp.id_claims(), "iat": now, "exp": now + 300, "nonce": None}
        claims.update(self.claims)
        claims = {k: v for k, v in claims.items() if v is not None}
        return self.idp.sign(claims, key=self.key, **self.header)


@pytest.fixture
def answer(idp, monkeypatch) -> RefreshAnswer:
    refresh = RefreshAnswer(idp)
    handle = idp.handle

    def handle_with_id_token(request):
        status, body = handle(request)
        form = parse_qs(request.body or "")
        if status == 200 and form.get("grant_type") == ["refresh_token"] and not refresh.off:
            token = refresh.id_token()
            refresh.sent.append(token)
            body = {**body, "id_token": token}
        return status, body

    monkeypatch.setattr(idp, "handle", handle_with_id_token)
    return refresh


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def payload_of(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def signed_in_and_expired(client, idp) -> tuple[Any, dict[str, str]]:
    """Sign in through the callback, let the access token expire; return the user and
    the stored tokens (plaintext)."""
    response = sign_in(client, idp)
    assert response.status_code == 302, response.content[:500]
    expire()
    return LinkedAccount.objects.get().user, stored_tokens()


def stored_tokens() -> dict[str, Any]:
    stored = StoredToken.objects.get()
    return {
        "access_token": stored.access_token,
        "refresh_token": stored.refresh_token,
        "id_token": stored.id_token,
        "expires_at": stored.expires_at,
        "version": stored.version,
    }


def refused(user, code: str) -> None:
    """``get_access_token`` fails with ``invalid_id_token``, caused by rule ``code``."""
    with pytest.raises(TokenUnavailable) as caught:
        get_access_token(user, "fake")
    assert caught.value.code == "invalid_id_token"
    assert isinstance(caught.value.__cause__, InvalidIDToken)
    assert caught.value.__cause__.code == code


def test_a_valid_refreshed_id_token_is_stored(client, idp, answer):
    user, before = signed_in_and_expired(client, idp)

    assert get_access_token(user, "fake") == "at-refreshed-1"

    after = stored_tokens()
    assert after["id_token"] == answer.sent[0] != before["id_token"]
    assert after["refresh_token"] == "rt-refreshed-1"
    assert "nonce" not in payload_of(after["id_token"])


def test_a_refresh_response_without_id_token_keeps_the_stored_one(client, idp, answer):
    answer.off = True
    user, before = signed_in_and_expired(client, idp)

    assert get_access_token(user, "fake") == "at-refreshed-1"

    assert stored_tokens()["id_token"] == before["id_token"]


def alg_none(answer: RefreshAnswer) -> None:
    now = int(time.time())
    claims = {**answer.idp.id_claims(), "iat": now, "exp": now + 300}
    answer.token = f"{b64({'alg': 'none'})}.{b64(claims)}."


def other_key(answer: RefreshAnswer) -> None:
    answer.key = jose.generate_key("RS256")
    answer.key.update({"kid": answer.idp.key["kid"]})  # the same kid, another key


#: (what the provider does wrong, the rule's code)
BROKEN = {
    "alg none": (alg_none, "alg_not_allowed"),
    "another key": (other_key, "bad_signature"),
    "foreign iss": (lambda a: a.claims.update(iss="https://evil.example"), "iss"),
    "another sub": (lambda a: a.claims.update(sub="someone-else"), "sub_changed"),
    "another aud": (lambda a: a.claims.update(aud="another-client"), "aud"),
    "an added aud": (
        lambda a: a.claims.update(aud=[CLIENT_ID, "another-client"], azp=CLIENT_ID),
        "aud_changed",
    ),
    "an added azp": (lambda a: a.claims.update(azp=CLIENT_ID), "azp_changed"),
    "expired": (lambda a: a.claims.update(exp=int(time.time()) - 3600), "expired"),
    "issued in the future": (lambda a: a.claims.update(iat=int(time.time()) + 3600), "iat"),
    "older than the original": (
        lambda a: a.claims.update(iat=int(time.time()) - 3600),
        "iat_before_original",
    ),
    "another nonce": (lambda a: a.claims.update(nonce="another-nonce"), "nonce_changed"),
    "a wrong at_hash": (lambda a: a.claims.update(at_hash="AAAAAAAAAAAAAAAAAAAAAA"), "at_hash"),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_a_bad_refreshed_id_token_fails_the_refresh_and_keeps_the_old_tokens(
    client, idp, answer, case
):
    user, before = signed_in_and_expired(client, idp)
    breaks, code = BROKEN[case]
    breaks(answer)

    refused(user, code)

    assert answer.sent  # the provider did answer the refresh
    assert stored_tokens() == before
    assert StoredToken.objects.get().refresh_lock_until is None


def test_the_next_refresh_with_a_good_id_token_goes_through(client, idp, answer):
    user, _ = signed_in_and_expired(client, idp)
    answer.claims["sub"] = "someone-else"
    refused(user, "sub_changed")

    answer.claims = {}

    assert get_access_token(user, "fake") == "at-refreshed-2"
    assert "rt-1" in idp.calls("/token")[-1].body  # the kept refresh token was used


def test_auth_time_must_stay_the_original_one(client, idp, answer):
    first = int(time.time()) - 600
    idp.claims["auth_time"] = first
    user, before = signed_in_and_expired(client, idp)
    answer.claims["auth_time"] = int(time.time())  # the refresh is no new sign-in

    refused(user, "auth_time_changed")
    assert stored_tokens() == before

    answer.claims["auth_time"] = first
    assert get_access_token(user, "fake") == "at-refreshed-2"
    assert payload_of(stored_tokens()["id_token"])["auth_time"] == first


def test_auth_time_without_one_originally_must_precede_the_original(client, idp, answer):
    user, _ = signed_in_and_expired(client, idp)
    answer.claims["auth_time"] = int(time.time()) + 120  # after the original was issued

    refused(user, "auth_time_changed")

    answer.claims["auth_time"] = int(time.time()) - 600
    assert get_access_token(user, "fake") == "at-refreshed-2"


def test_an_absent_auth_time_is_accepted(client, idp, answer):
    idp.claims["auth_time"] = int(time.time()) - 600
    user, _ = signed_in_and_expired(client, idp)
    answer.claims["auth_time"] = None

    assert get_access_token(user, "fake") == "at-refreshed-1"


def test_the_original_nonce_is_accepted(client, idp, answer):
    user, before = signed_in_and_expired(client, idp)
    answer.claims["nonce"] = payload_of(before["id_token"])["nonce"]

    assert get_access_token(user, "fake") == "at-refreshed-1"


def test_aud_as_a_list_of_our_client_id_is_the_same_audience(client, idp, answer):
    user, _ = signed_in_and_expired(client, idp)
    answer.claims["aud"] = [CLIENT_ID]

    assert get_access_token(user, "fake") == "at-refreshed-1"


def test_each_refresh_is_checked_against_the_last_stored_id_token(client, idp, answer):
    user, _ = signed_in_and_expired(client, idp)
    assert get_access_token(user, "fake") == "at-refreshed-1"
    expire()
    answer.claims["iss"] = IDP + "/"  # not the provider's issuer either

    refused(user, "iss")


def test_with_no_stored_id_token_the_linked_subject_binds_it(client, idp, answer):
    user, _ = signed_in_and_expired(client, idp)
    StoredToken.objects.update(id_token_encrypted="")
    answer.claims["sub"] = "someone-else"

    refused(user, "sub_changed")
    assert StoredToken.objects.get().id_token_encrypted == ""

    answer.claims = {}
    assert get_access_token(user, "fake") == "at-refreshed-2"
    assert stored_tokens()["id_token"] == answer.sent[-1]


def test_a_plain_oauth2_provider_s_id_token_is_not_stored(client, idp, answer, settings):
    user, before = signed_in_and_expired(client, idp)
    # The same provider, now configured as plain OAuth 2: no ID token is part of its contract.
    set_provider(
        settings,
        kind="oauth2",
        authorization_endpoint=f"{IDP}/authorize",
        token_endpoint=f"{IDP}/token",
        userinfo_endpoint=f"{IDP}/userinfo",
        settings={"profile_mapping": {"subject": "sub"}},
    )
    answer.claims["sub"] = "someone-else"

    assert get_access_token(user, "fake") == "at-refreshed-1"

    assert answer.sent
    assert stored_tokens()["id_token"] == before["id_token"]
