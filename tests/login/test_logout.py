"""Logout: local, RP-initiated at the provider, and the back-channel logout receiver."""

from __future__ import annotations

import time
import uuid

import pytest
from django.test import Client

from oauthkit import jose
from oauthkit.login.crypto import decrypt
from oauthkit.login.models import ProviderSession, UsedLogoutToken

from .conftest import CLIENT_ID, IDP, query_of, set_login, sign_in, start

pytestmark = pytest.mark.django_db
EVENT = {"http://schemas.openid.net/event/backchannel-logout": {}}
BACKCHANNEL = "/accounts/oauth/fake/backchannel-logout/"


def test_local_logout(client, idp):
    sign_in(client, idp)
    assert ProviderSession.objects.count() == 1
    response = client.post("/accounts/oauth/logout/")
    assert response["Location"] == "/"
    assert "_auth_user_id" not in client.session
    assert not idp.calls("/logout")
    assert not ProviderSession.objects.exists()  # nothing left for back-channel logout


def test_logout_needs_post(client, idp):
    sign_in(client, idp)
    assert client.get("/accounts/oauth/logout/").status_code == 405
    assert "_auth_user_id" in client.session


def test_rp_initiated_logout(client, idp, settings):
    set_login(settings, RP_LOGOUT=True)
    sign_in(client, idp)
    response = client.post("/accounts/oauth/logout/")
    assert response["Location"].startswith(IDP + "/logout?")
    params = query_of(response["Location"])
    assert params["post_logout_redirect_uri"] == "http://testserver/"
    assert params["client_id"] == CLIENT_ID
    assert jose.unverified_header(params["id_token_hint"])["alg"] == "RS256"
    assert "_auth_user_id" not in client.session


def test_id_token_hint_is_kept_encrypted_in_the_session(client, idp):
    sign_in(client, idp)
    sealed = client.session["_oauthkit_login_id_token"]
    assert sealed.count(".") == 4 and decrypt(sealed).count(".") == 2


def logout_token(idp, **changes):
    now = int(time.time())
    claims = {
        "iss": IDP,
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 120,
        "jti": uuid.uuid4().hex,
        "events": EVENT,
        "sid": "idp-session-1",
        "sub": "idp-user-1",
        **changes,
    }
    return idp.sign({k: v for k, v in claims.items() if v is not None}, typ="logout+jwt")


def post_logout_token(token):
    return Client().post(BACKCHANNEL, {"logout_token": token})


def test_backchannel_logout_ends_the_session(client, idp):
    sign_in(client, idp)
    other = Client()
    sign_in(other, idp)  # the same person in a second browser
    response = post_logout_token(logout_token(idp))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert client.get("/accounts/oauth/").status_code == 302  # signed out
    assert other.get("/accounts/oauth/").status_code == 302
    assert not ProviderSession.objects.exists()


def test_backchannel_logout_by_sid_only_ends_that_session(client, idp):
    sign_in(client, idp)
    idp.claims["sid"] = "idp-session-2"
    other = Client()
    sign_in(other, idp)
    assert post_logout_token(logout_token(idp, sub=None, sid="idp-session-2")).status_code == 200
    assert client.get("/accounts/oauth/").status_code == 200
    assert other.get("/accounts/oauth/").status_code == 302


def test_backchannel_logout_of_other_subject_ends_nothing(client, idp):
    sign_in(client, idp)
    assert post_logout_token(logout_token(idp, sub="someone-else", sid=None)).status_code == 200
    assert client.get("/accounts/oauth/").status_code == 200


def test_replayed_logout_token_is_refused(client, idp):
    token = logout_token(idp)
    assert post_logout_token(token).status_code == 200
    response = post_logout_token(token)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert UsedLogoutToken.objects.count() == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"nonce": "n"},  # an ID token is never a logout token
        {"events": None},
        {"events": {"other": {}}},
        {"sub": None, "sid": None},
        {"aud": "another-client"},
        {"iss": "https://other.example"},
        {"exp": int(time.time()) - 3600},
        {"jti": None},
    ],
)
def test_invalid_logout_tokens_are_refused(client, idp, changes):
    sign_in(client, idp)
    response = post_logout_token(logout_token(idp, **changes))
    assert response.status_code == 400, changes
    assert client.get("/accounts/oauth/").status_code == 200  # still signed in


def test_logout_token_with_bad_signature_is_refused(client, idp):
    sign_in(client, idp)
    forged = jose.generate_key("RS256")
    forged.update({"kid": idp.key["kid"]})
    now = int(time.time())
    claims = {"iss": IDP, "aud": CLIENT_ID, "iat": now, "exp": now + 60, "jti": "j"}
    token = idp.sign({**claims, "events": EVENT, "sub": "idp-user-1"}, key=forged)
    assert post_logout_token(token).status_code == 400
    assert client.get("/accounts/oauth/").status_code == 200


def test_missing_logout_token(idp):
    assert Client().post(BACKCHANNEL).status_code == 400


def test_clearlogins_deletes_leftovers(client, idp):
    from datetime import timedelta
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    from oauthkit.login.models import PendingLogin

    sign_in(client, idp)  # one used pending request, one live session record
    start(Client(), idp)  # one pending request still running
    PendingLogin.objects.filter(used_at__isnull=False).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    UsedLogoutToken.objects.create(
        provider="fake", jti="old", expires_at=timezone.now() - timedelta(seconds=1)
    )
    ProviderSession.objects.create(
        account=ProviderSession.objects.get().account, session_key="gone"
    )
    out = StringIO()
    call_command("clearlogins", stdout=out)
    assert "Deleted 1 pending sign-ins, 1 logout-token ids, 1 session records." in out.getvalue()
    assert PendingLogin.objects.count() == 1
    assert list(ProviderSession.objects.values_list("session_key", flat=True)) == [
        client.session.session_key
    ]
