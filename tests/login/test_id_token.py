"""ID token validation (OIDC Core §3.1.3.7), each rule broken once through the callback.

The scripted provider (conftest.py) answers the token request with a forged ID token; the
sign-in must end on the error page with the rule's code, and nobody is signed in.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import pytest
from jwcrypto import jwk, jws
from jwcrypto.common import json_encode

from oauthkit import jose
from oauthkit.login.models import LinkedAccount

from .conftest import CLIENT_ID, assert_error_page, callback, set_login, start

pytestmark = pytest.mark.django_db


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def rejected(client, idp, code: str) -> None:
    response = callback(client, start(client, idp))
    assert_error_page(response, code)
    assert "_auth_user_id" not in client.session
    assert not LinkedAccount.objects.exists()


def test_valid_token_signs_in(client, idp):
    assert callback(client, start(client, idp)).status_code == 302
    assert LinkedAccount.objects.get().subject == "idp-user-1"


def test_bad_signature(client, idp):
    other = jose.generate_key("RS256")
    other.update({"kid": idp.key["kid"]})  # same kid, another key
    params = start(client, idp)
    idp.id_token = idp.sign(idp.id_claims(), key=other)
    assert_error_page(callback(client, params), "bad_signature")


def test_tampered_payload(client, idp):
    params = start(client, idp)
    header, _, signature = idp.sign(idp.id_claims()).split(".")
    forged = {**idp.id_claims(), "sub": "someone-else"}
    idp.id_token = f"{header}.{b64(forged)}.{signature}"
    assert_error_page(callback(client, params), "bad_signature")


def test_wrong_issuer(client, idp):
    idp.claims["iss"] = "https://other.example"
    rejected(client, idp, "iss")


def test_wrong_audience(client, idp):
    idp.claims["aud"] = "someone-else"
    rejected(client, idp, "aud")


def test_multiple_audiences_need_our_azp(client, idp):
    idp.claims["aud"] = [CLIENT_ID, "another-client"]
    idp.claims["azp"] = "another-client"
    rejected(client, idp, "azp")


def test_multiple_audiences_with_our_azp_pass(client, idp):
    idp.claims["aud"] = [CLIENT_ID, "another-client"]
    idp.claims["azp"] = CLIENT_ID
    assert callback(client, start(client, idp)).status_code == 302


def test_expired(client, idp):
    idp.claims["exp"] = int(time.time()) - 3600
    rejected(client, idp, "expired")


def test_expiry_within_leeway_passes(client, idp):
    idp.claims["exp"] = int(time.time()) - 10  # default leeway 60 s
    assert callback(client, start(client, idp)).status_code == 302


def test_issued_in_the_future(client, idp):
    idp.claims["iat"] = int(time.time()) + 3600
    rejected(client, idp, "iat")


@pytest.mark.parametrize("iat", [None, True, "1700000000"])
def test_missing_or_non_numeric_iat(client, idp, iat):
    idp.claims["iat"] = iat
    rejected(client, idp, "iat")


def test_nonce_mismatch(client, idp):
    params = start(client, idp)
    idp.nonce = "a-replayed-token-nonce"
    assert_error_page(callback(client, params), "nonce")


def test_missing_nonce(client, idp):
    params = start(client, idp)
    idp.nonce = None
    assert_error_page(callback(client, params), "nonce")


def test_alg_none(client, idp):
    params = start(client, idp)
    idp.id_token = f"{b64({'alg': 'none', 'kid': idp.key['kid']})}.{b64(idp.id_claims())}."
    assert_error_page(callback(client, params), "alg_not_allowed")


def test_hs256_signed_with_the_providers_public_key(client, idp):
    # The classic key-confusion forgery: HMAC keyed with the public key's PEM.
    params = start(client, idp)
    public_pem = idp.key.export_to_pem()
    secret = jwk.JWK(kty="oct", k=base64.urlsafe_b64encode(public_pem).rstrip(b"=").decode())
    token = jws.JWS(json_encode(idp.id_claims()).encode())
    header = {"alg": "HS256", "kid": idp.key["kid"]}
    token.add_signature(secret, alg="HS256", protected=json_encode(header))
    idp.id_token = token.serialize(compact=True)
    assert_error_page(callback(client, params), "alg_not_allowed")


def test_unknown_kid_is_refetched_once_then_rejected(client, idp, settings):
    callback(client, start(client, idp))  # JWKS now cached
    client.logout()
    stranger = jose.generate_key("RS256")
    params = start(client, idp)
    idp.id_token = idp.sign(idp.id_claims(), key=stranger)
    fetches = len(idp.calls("/jwks"))
    set_login(settings, JWKS_REFRESH_INTERVAL=timedelta(0))
    assert_error_page(callback(client, params), "unknown_key")
    assert len(idp.calls("/jwks")) == fetches + 1  # exactly one refetch


def test_rotated_key_is_found_by_refetch(client, idp, settings):
    set_login(settings, JWKS_REFRESH_INTERVAL=timedelta(0))
    callback(client, start(client, idp))
    client.logout()
    new_key = jose.generate_key("ES256")
    idp.key = new_key
    idp.jwks_keys.append(jose.public_jwk(new_key))  # the provider rotated
    assert callback(client, start(client, idp)).status_code == 302


def test_refetch_is_rate_limited(client, idp, settings):
    callback(client, start(client, idp))  # JWKS fetched just now
    client.logout()
    fetches = len(idp.calls("/jwks"))
    params = start(client, idp)
    idp.id_token = idp.sign(idp.id_claims(), key=jose.generate_key("RS256"))
    assert_error_page(callback(client, params), "unknown_key")
    assert len(idp.calls("/jwks")) == fetches  # interval (60 s) not over: no refetch


def test_at_hash_mismatch(client, idp):
    idp.claims["at_hash"] = "not-the-hash"
    rejected(client, idp, "at_hash")


def test_at_hash_match_passes(client, idp):
    from oauthkit.login.id_token import token_hash

    idp.claims["at_hash"] = token_hash(idp.access_token, "RS256")
    assert callback(client, start(client, idp)).status_code == 302


def test_missing_id_token(client, idp):
    params = start(client, idp)
    idp.id_token = ""
    assert_error_page(callback(client, params), "missing")


def test_garbage_id_token(client, idp):
    params = start(client, idp)
    idp.id_token = "not.a.jwt"
    assert_error_page(callback(client, params), "malformed")


def test_userinfo_subject_must_match(client, idp):
    idp.claims.update({"email": None, "name": None})  # so UserInfo is fetched
    idp.userinfo = {"sub": "another-subject", "email": "x@example.com"}
    rejected(client, idp, "invalid_userinfo")


def test_userinfo_completes_the_profile(client, idp):
    idp.claims.update({"email": None, "name": None})
    idp.userinfo = {"email": "pat@work.example", "email_verified": True, "name": "Pat"}
    assert callback(client, start(client, idp)).status_code == 302
    assert LinkedAccount.objects.get().email == "pat@work.example"
    assert idp.calls("/userinfo")[0].headers["Authorization"] == "Bearer at-1"


def test_discovery_with_another_issuer_is_refused(client, idp):
    idp.extra_metadata["issuer"] = "https://impostor.example"
    response = client.post("/accounts/oauth/fake/login/")
    assert_error_page(response, "discovery_issuer_mismatch", status=503)


def test_profile_values_of_the_wrong_type_are_ignored(client, idp):
    idp.claims.update({"email": None, "name": None})
    idp.userinfo = {"email": {"not": "a string"}, "email_verified": ["x"]}
    assert callback(client, start(client, idp)).status_code == 302
    account = LinkedAccount.objects.get()
    assert account.email == "" and account.user.email == ""  # odd values are dropped


def test_provider_code_raising_on_odd_data_ends_on_error_page(client, idp, monkeypatch):
    from oauthkit.login.providers.oidc import OpenIDConnectProvider

    def broken(self, http, token_response, id_claims):
        return {}["missing"]

    monkeypatch.setattr(OpenIDConnectProvider, "fetch_profile", broken)
    assert_error_page(callback(client, start(client, idp)), "invalid_userinfo")
