"""private_key_jwt client authentication (RFC 7523 §2.2 and §3, OpenID Connect Core §9),
driven through the token, revocation, introspection and device endpoints, and its
registration (Client.clean(), the admin, createclient).

Assertions are signed with keys made by jwcrypto; JWKS URLs are served by a small HTTP
server on 127.0.0.1; time moves through the ``_now`` seam of client_assertion.py.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import django
import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from jwcrypto import jwk, jws

from oauthkit import jose
from oauthkit.provider import client_assertion, client_jwks
from oauthkit.provider.keys import key_ring
from oauthkit.provider.models import Client, UsedClientAssertion
from oauthkit.testing.factories import ClientFactory
from tests.helpers import ISSUER, assert_oauth_error, basic_auth, get_code, post_form

pytestmark = pytest.mark.django_db

TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_URL = f"{ISSUER}/o/token/"
CC = {"grant_type": "client_credentials"}
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ADMIN = "/admin/oauthkit_provider"


# --- keys, assertions, clients -----------------------------------------------------------


@pytest.fixture(scope="module")
def keys() -> dict[str, jwk.JWK]:
    """One private key per accepted algorithm (made once: RSA keys are slow to make)."""
    return {alg: jose.generate_key(alg) for alg in ("RS256", "PS256", "ES256", "EdDSA")}


@pytest.fixture
def key(keys) -> jwk.JWK:
    return keys["ES256"]


class Clock:
    """The time client_assertion.py sees; a test moves it by hand."""

    def __init__(self):
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(client_assertion, "_now", clock)
    return clock


def public_jwks(*private_keys: jwk.JWK) -> dict:
    return {"keys": [jose.public_jwk(k) for k in private_keys]}


def jwt_client(*private_keys: jwk.JWK, **fields) -> Client:
    """A confidential private_key_jwt client with these public keys registered inline.

    The factory also gives it a secret, which must not work."""
    if private_keys:
        fields.setdefault("jwks", public_jwks(*private_keys))
    return ClientFactory(token_endpoint_auth_method=Client.AuthMethod.PRIVATE_KEY_JWT, **fields)


@pytest.fixture
def oauth_client(key) -> Client:
    return jwt_client(key)


def claims_for(client_id: str, now: float, **overrides) -> dict:
    """RFC 7523 §3 claims; an override of None leaves the claim out."""
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "jti": uuid.uuid4().hex,
        "iat": int(now),
        "exp": int(now) + 60,
        **overrides,
    }
    return {name: value for name, value in claims.items() if value is not None}


def assertion(key: jwk.JWK, client: Client, now: float | None = None, **overrides) -> str:
    """An assertion signed by ``key`` (its ``alg`` and ``kid`` in the header)."""
    now = time.time() if now is None else now
    return jose.sign(claims_for(client.client_id, now, **overrides), key)


def sign_with_header(key: jwk.JWK, claims: dict, header: dict) -> str:
    signed = jws.JWS(json.dumps(claims))
    signed.add_signature(key, alg=header["alg"], protected=header)
    return signed.serialize(compact=True)


def b64(value) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims_of(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


def with_assertion(token: str, data: dict | None = None, **extra) -> dict:
    return {
        **(CC if data is None else data),
        "client_assertion_type": TYPE,
        "client_assertion": token,
        **extra,
    }


def token_request(http, token: str, data: dict | None = None, **headers):
    return post_form(http, "/o/token/", with_assertion(token, data), **headers)


def assert_invalid_client(response) -> dict:
    body = assert_oauth_error(response, "invalid_client", status=401)
    # RFC 6749 §5.2: WWW-Authenticate answers HTTP Basic only.
    assert "WWW-Authenticate" not in response
    return body


# --- success ---------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_client_credentials_with_each_algorithm(client, keys, alg):
    oauth_client = jwt_client(keys[alg])

    response = token_request(client, assertion(keys[alg], oauth_client))

    assert response.status_code == 200, response.content
    claims = claims_of(response.json()["access_token"])
    assert claims["sub"] == claims["client_id"] == oauth_client.client_id


def test_authorization_code_with_private_key_jwt(client, user, oauth_client, key):
    client.force_login(user)
    code, verifier = get_code(client, oauth_client)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": oauth_client.redirect_uris[0],
        "code_verifier": verifier,
        # RFC 7523 §3: client_id is optional; sent, it must be the assertion's subject.
        "client_id": oauth_client.client_id,
    }

    response = token_request(client, assertion(key, oauth_client), data)

    assert response.status_code == 200, response.content
    assert response.json()["refresh_token"]


def test_the_issuer_and_a_list_naming_the_token_endpoint_are_accepted_audiences(
    client, oauth_client, key
):
    by_issuer = assertion(key, oauth_client, aud=ISSUER)
    in_a_list = assertion(key, oauth_client, aud=["https://other.example", TOKEN_URL])

    assert token_request(client, by_issuer).status_code == 200
    assert token_request(client, in_a_list).status_code == 200


def test_revocation_and_introspection_accept_their_own_url_the_issuer_or_the_token_url(
    client, oauth_client, key
):
    def introspect(token: str, aud: str) -> dict:
        data = with_assertion(assertion(key, oauth_client, aud=aud), {"token": token})
        response = post_form(client, "/o/introspect/", data)
        assert response.status_code == 200, response.content
        return response.json()

    token = token_request(client, assertion(key, oauth_client)).json()["access_token"]
    assert introspect(token, f"{ISSUER}/o/introspect/")["active"] is True
    assert introspect(token, ISSUER)["client_id"] == oauth_client.client_id
    assert introspect(token, TOKEN_URL)["active"] is True

    revoke = assertion(key, oauth_client, aud=f"{ISSUER}/o/revoke/")
    response = post_form(client, "/o/revoke/", with_assertion(revoke, {"token": token}))

    assert response.status_code == 200, response.content
    assert introspect(token, ISSUER) == {"active": False}


def test_revocation_refuses_a_bad_assertion(client, oauth_client, key):
    token = assertion(key, oauth_client, aud="https://other.example")

    assert_invalid_client(post_form(client, "/o/revoke/", with_assertion(token, {"token": "x"})))


def test_the_device_endpoint_authenticates_with_private_key_jwt(client, key):
    oauth_client = jwt_client(key, grant_types=[DEVICE_GRANT])
    token = assertion(key, oauth_client, aud=f"{ISSUER}/o/device/")

    response = post_form(client, "/o/device/", with_assertion(token, {"scope": "read"}))

    assert response.status_code == 200, response.content
    assert response.json()["device_code"]


def test_an_assertion_without_kid_is_tried_against_each_key(client, keys):
    oauth_client = jwt_client(keys["RS256"], keys["ES256"])
    claims = claims_for(oauth_client.client_id, time.time())

    # RFC 7515 §4.1.4: kid is optional.
    token = sign_with_header(keys["ES256"], claims, {"alg": "ES256"})

    assert token_request(client, token).status_code == 200


def test_a_registered_key_without_kid_is_named_by_its_thumbprint(client):
    key = jwk.JWK.generate(kty="EC", crv="P-256")  # no kid
    oauth_client = jwt_client(jwks={"keys": [key.export_public(as_dict=True)]})
    claims = claims_for(oauth_client.client_id, time.time())

    # RFC 7638: the thumbprint names a key that has no kid.
    token = sign_with_header(key, claims, {"alg": "ES256", "kid": key.thumbprint()})

    assert token_request(client, token).status_code == 200


def test_the_jti_is_kept_as_a_hash_until_the_assertion_expires(client, oauth_client, key, clock):
    token = assertion(key, oauth_client, clock.now, jti="my-jti")

    assert token_request(client, token).status_code == 200

    stored = UsedClientAssertion.objects.get(client=oauth_client)
    assert stored.jti_hash != "my-jti" and len(stored.jti_hash) == 64
    assert stored.expires_at.timestamp() == claims_of(token)["exp"] + client_assertion.LEEWAY


def test_a_lone_surrogate_in_the_jti_is_not_a_500(client, oauth_client, key):
    # A legal JSON string that UTF-8 cannot encode; only its hash is stored.
    token = assertion(key, oauth_client, jti="\ud800")

    assert token_request(client, token).status_code == 200


# --- replay and time -------------------------------------------------------------------------


def test_a_replayed_assertion_is_refused(client, oauth_client, key):
    token = assertion(key, oauth_client, aud=ISSUER)
    assert token_request(client, token).status_code == 200

    assert_invalid_client(token_request(client, token))
    # Nor does another endpoint that accepts the same audience take it.
    assert_invalid_client(
        post_form(client, "/o/introspect/", with_assertion(token, {"token": "x"}))
    )


def test_a_jti_may_come_back_once_its_assertion_expired(client, oauth_client, key, clock):
    assert (
        token_request(client, assertion(key, oauth_client, clock.now, jti="again")).status_code
        == 200
    )

    clock.now += 60 + client_assertion.LEEWAY + 1

    assert (
        token_request(client, assertion(key, oauth_client, clock.now, jti="again")).status_code
        == 200
    )
    # The expired record was taken over: one record, for the live assertion.
    assert UsedClientAssertion.objects.filter(client=oauth_client).count() == 1
    # ... which cannot be replayed in its turn.
    assert (
        token_request(client, assertion(key, oauth_client, clock.now, jti="again")).status_code
        == 401
    )


def test_jtis_are_per_client(client, key):
    first, second = jwt_client(key), jwt_client(key)

    assert token_request(client, assertion(key, first, jti="shared")).status_code == 200
    assert token_request(client, assertion(key, second, jti="shared")).status_code == 200


@pytest.mark.parametrize(
    "relative",
    [
        pytest.param({"exp": -client_assertion.LEEWAY - 1}, id="expired"),
        pytest.param(
            {"exp": client_assertion.MAX_LIFETIME + client_assertion.LEEWAY + 1},
            id="lives-too-long",
        ),
        pytest.param({"nbf": client_assertion.LEEWAY + 1}, id="not-yet-valid"),
        pytest.param({"iat": client_assertion.LEEWAY + 1}, id="issued-in-the-future"),
    ],
)
def test_time_claims_out_of_bounds_are_invalid_client(client, oauth_client, key, clock, relative):
    claims = {name: int(clock.now) + seconds for name, seconds in relative.items()}

    assert_invalid_client(token_request(client, assertion(key, oauth_client, clock.now, **claims)))


def test_time_claims_within_the_leeway_pass(client, oauth_client, key, clock):
    now, leeway = int(clock.now), client_assertion.LEEWAY
    token = assertion(
        key,
        oauth_client,
        clock.now,
        exp=now + client_assertion.MAX_LIFETIME + leeway,
        nbf=now + leeway,
        iat=now + leeway,
    )

    assert token_request(client, token).status_code == 200


def test_an_assertion_is_refused_once_the_clock_passes_its_exp(client, oauth_client, key, clock):
    token = assertion(key, oauth_client, clock.now)
    clock.now += 60 + client_assertion.LEEWAY + 1

    assert_invalid_client(token_request(client, token))
    assert not UsedClientAssertion.objects.exists()


# --- claims, keys and algorithms that are refused ------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"aud": "https://other.example/token"}, id="wrong-aud"),
        pytest.param({"aud": f"{ISSUER}/o/revoke/"}, id="another-endpoints-url"),
        pytest.param({"aud": f"{ISSUER}/o/token"}, id="token-url-without-slash"),
        pytest.param({"aud": None}, id="no-aud"),
        pytest.param({"aud": 42}, id="aud-number"),
        pytest.param({"aud": [42, {"a": 1}]}, id="aud-list-of-non-strings"),
        pytest.param({"aud": []}, id="aud-empty-list"),
        pytest.param({"iss": "someone-else"}, id="wrong-iss"),
        pytest.param({"iss": None}, id="no-iss"),
        pytest.param({"iss": ["x"]}, id="iss-list"),
        pytest.param({"jti": None}, id="no-jti"),
        pytest.param({"jti": ""}, id="empty-jti"),
        pytest.param({"jti": 7}, id="jti-number"),
        pytest.param({"exp": None}, id="no-exp"),
        pytest.param({"exp": "tomorrow"}, id="exp-string"),
        pytest.param({"exp": True}, id="exp-bool"),
        pytest.param({"iat": "now"}, id="iat-string"),
        pytest.param({"nbf": [1]}, id="nbf-list"),
    ],
)
def test_claims_wrong_or_missing_are_invalid_client(client, oauth_client, key, overrides):
    response = token_request(client, assertion(key, oauth_client, **overrides))

    assert_invalid_client(response)
    assert not UsedClientAssertion.objects.exists()


def test_an_exp_of_nan_is_invalid_client(client, oauth_client, key):
    # json.loads accepts NaN; a NaN exp would never compare as past.
    claims = claims_for(oauth_client.client_id, time.time())
    payload = json.dumps(claims).replace(str(claims["exp"]), "NaN")
    token = sign_with_header(key, json.loads(payload), {"alg": "ES256", "kid": key["kid"]})

    assert_invalid_client(token_request(client, token))


def test_a_sub_naming_another_client_is_refused(client, oauth_client, key):
    other = jwt_client(key)

    # The sub finds the other client, whose key verifies, but iss is not its client_id.
    assert_invalid_client(token_request(client, assertion(key, oauth_client, sub=other.client_id)))


def test_alg_none_is_refused(client, oauth_client, key):
    claims = claims_for(oauth_client.client_id, time.time())
    token = f"{b64({'alg': 'none', 'kid': key['kid']})}.{b64(claims)}."

    assert_invalid_client(token_request(client, token))


def test_hs256_with_the_public_key_as_the_secret_is_refused(client, keys):
    rsa = keys["RS256"]
    oauth_client = jwt_client(rsa)
    claims = claims_for(oauth_client.client_id, time.time())
    for public in (rsa.export_to_pem(), json.dumps(jose.public_jwk(rsa)).encode()):
        hmac_key = jwk.JWK(kty="oct", k=b64(public))  # what anyone can read
        token = sign_with_header(hmac_key, claims, {"alg": "HS256", "kid": rsa["kid"]})

        assert_invalid_client(token_request(client, token))


def test_a_signature_by_another_key_with_the_same_kid_is_refused(client, oauth_client, key):
    impostor = jose.generate_key("ES256")
    impostor.update({"kid": key["kid"]})

    assert_invalid_client(token_request(client, assertion(impostor, oauth_client)))


def test_a_tampered_assertion_is_refused(client, oauth_client, key):
    header, payload, signature = assertion(key, oauth_client).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["exp"] += 60

    assert_invalid_client(token_request(client, f"{header}.{b64(claims)}.{signature}"))


def test_an_unknown_kid_is_refused(client, oauth_client):
    stranger = jose.generate_key("ES256")

    assert_invalid_client(token_request(client, assertion(stranger, oauth_client)))


def test_a_key_is_used_only_with_the_algorithm_it_declares(client, keys):
    rsa = keys["RS256"]  # its public JWK says "alg": "RS256"
    oauth_client = jwt_client(rsa)
    claims = claims_for(oauth_client.client_id, time.time())

    token = sign_with_header(rsa, claims, {"alg": "PS256", "kid": rsa["kid"]})

    assert_invalid_client(token_request(client, token))


def test_a_key_without_alg_verifies_every_algorithm_of_its_type(client, keys):
    rsa = keys["RS256"]
    public = {k: v for k, v in jose.public_jwk(rsa).items() if k != "alg"}
    oauth_client = jwt_client(jwks={"keys": [public]})
    claims = claims_for(oauth_client.client_id, time.time())

    token = sign_with_header(rsa, claims, {"alg": "PS256", "kid": rsa["kid"]})

    assert token_request(client, token).status_code == 200


def test_the_registered_signing_algorithm_is_the_only_one_accepted(client, keys):
    oauth_client = jwt_client(keys["RS256"], keys["ES256"], token_endpoint_auth_signing_alg="ES256")

    assert_invalid_client(token_request(client, assertion(keys["RS256"], oauth_client)))
    assert token_request(client, assertion(keys["ES256"], oauth_client)).status_code == 200


def test_an_algorithm_outside_the_accepted_ones_is_refused(client):
    es384 = jwk.JWK.generate(kty="EC", crv="P-384", kid="p384")
    oauth_client = jwt_client(jwks={"keys": [es384.export_public(as_dict=True)]})
    claims = claims_for(oauth_client.client_id, time.time())

    token = sign_with_header(es384, claims, {"alg": "ES384", "kid": "p384"})

    assert_invalid_client(token_request(client, token))


SURROGATE_SUB = b64(b'{"sub": "\\ud800"}')
NUL_SUB = b64({"sub": "a\x00b"})
ES256 = b64({"alg": "ES256"})
NOT_UTF8 = f"{b64(bytes([255]))}.{b64(bytes([254]))}.c2ln"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("not-a-jwt", id="no-dots"),
        pytest.param("a.b.c", id="garbage-parts"),
        pytest.param("a.b", id="two-parts"),
        pytest.param("%%%.%%%.%%%", id="not-base64"),
        pytest.param(f"{b64(b'{')}.{b64({'sub': 'x'})}.c2ln", id="header-not-json"),
        pytest.param(f"{ES256}.{b64(b'[1')}.c2ln", id="payload-not-json"),
        pytest.param(f"{ES256}.{b64([1, 2])}.c2ln", id="payload-a-list"),
        pytest.param(f"{ES256}.{b64({'iss': 'x'})}.c2ln", id="no-sub"),
        pytest.param(f"{ES256}.{b64({'sub': 5})}.c2ln", id="sub-number"),
        pytest.param(f"{ES256}.{NUL_SUB}.c2ln", id="sub-nul"),
        pytest.param(f"{ES256}.{SURROGATE_SUB}.c2ln", id="sub-lone-surrogate"),
        pytest.param(f"{ES256}.{b64({'sub': 'nobody'})}.c2ln", id="unknown-client"),
        pytest.param(NOT_UTF8, id="not-utf8"),
    ],
)
def test_malformed_assertions_are_invalid_client(client, token):
    assert_invalid_client(token_request(client, token))


@pytest.mark.parametrize(
    "header",
    [
        pytest.param({}, id="control-accepted"),
        pytest.param({"kid": 5}, id="kid-number"),
        pytest.param({"alg": ["ES256"]}, id="alg-list"),
        pytest.param({"alg": None}, id="alg-null"),
        pytest.param({"crit": ["exp"]}, id="crit"),
    ],
)
def test_malformed_headers_of_a_real_client_are_invalid_client(client, oauth_client, key, header):
    claims = claims_for(oauth_client.client_id, time.time())
    # A real ES256 signature over the odd header: the header itself must be refused.
    protected = json.dumps({"alg": "ES256", "kid": key["kid"], **header})
    signed = jws.JWSCore("ES256", key, protected, json.dumps(claims).encode()).sign()
    token = f"{signed['protected']}.{signed['payload'].decode()}.{signed['signature']}"

    response = token_request(client, token)

    if header:
        assert_invalid_client(response)
    else:  # the same construction with a plain header is accepted
        assert response.status_code == 200, response.content


# --- one method per request, the registered one ----------------------------------------------


def test_basic_and_an_assertion_is_invalid_request(client, oauth_client, key):
    response = token_request(client, assertion(key, oauth_client), **basic_auth(oauth_client))

    # RFC 6749 §2.3: a client must not use more than one authentication method.
    assert_oauth_error(response, "invalid_request")


def test_a_secret_and_an_assertion_is_invalid_request(client, oauth_client, key):
    data = with_assertion(assertion(key, oauth_client), client_secret=oauth_client.raw_secret)

    assert_oauth_error(post_form(client, "/o/token/", data), "invalid_request")


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"client_assertion_type": TYPE}, id="type-without-assertion"),
        pytest.param({"client_assertion_type": TYPE, "client_assertion": ""}, id="empty"),
        pytest.param({"client_assertion": "x.y.z"}, id="assertion-without-type"),
        pytest.param(
            {
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
                "client_assertion": "x",
            },
            id="saml",
        ),
    ],
)
def test_incomplete_or_unknown_assertion_parameters_are_invalid_client(
    client, oauth_client, params
):
    data = {**CC, "client_id": oauth_client.client_id, **params}

    assert_invalid_client(post_form(client, "/o/token/", data))


def test_a_client_id_other_than_the_assertions_subject_is_invalid_client(client, oauth_client, key):
    other = jwt_client(key)
    data = with_assertion(assertion(key, oauth_client), client_id=other.client_id)

    assert_invalid_client(post_form(client, "/o/token/", data))


def test_a_secret_client_cannot_use_an_assertion(client, key):
    # Even with keys registered: only the registered method authenticates (RFC 6749 §2.3).
    secret_client = ClientFactory(jwks=public_jwks(key))

    assert_invalid_client(token_request(client, assertion(key, secret_client)))


def test_a_private_key_jwt_client_cannot_use_a_secret_or_nothing(client, oauth_client):
    response = post_form(client, "/o/token/", CC, **basic_auth(oauth_client))
    assert_oauth_error(response, "invalid_client", status=401)
    assert response["WWW-Authenticate"].startswith("Basic")

    client_id = oauth_client.client_id
    secret_post = {**CC, "client_id": client_id, "client_secret": oauth_client.raw_secret}
    assert_invalid_client(post_form(client, "/o/token/", secret_post))
    assert_invalid_client(post_form(client, "/o/token/", {**CC, "client_id": client_id}))


def test_an_inactive_client_is_refused(client, key):
    oauth_client = jwt_client(key, is_active=False)

    assert_invalid_client(token_request(client, assertion(key, oauth_client)))


def test_a_private_key_jwt_client_may_introspect(client, oauth_client, key):
    # It is confidential: introspection is not only for secret-based clients.
    data = with_assertion(assertion(key, oauth_client), {"token": "unknown"})

    assert post_form(client, "/o/introspect/", data).json() == {"active": False}


# --- JWKS URL --------------------------------------------------------------------------------


class JWKSServer(ThreadingHTTPServer):
    """Answers every GET with ``status``, ``headers`` and ``body`` on 127.0.0.1; counts them."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), JWKSHandler)
        self.url = f"http://127.0.0.1:{self.server_port}/jwks"
        self.status = 200
        self.body = b'{"keys": []}'
        self.headers: dict[str, str] = {}
        self.hits = 0

    def publish(self, *private_keys: jwk.JWK) -> None:
        self.body = json.dumps(public_jwks(*private_keys)).encode()

    def handle_error(self, request, client_address):
        pass  # a client that stops reading early (the size limit) is expected here


class JWKSHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        server: JWKSServer = self.server
        server.hits += 1
        self.send_response(server.status)
        self.send_header("Content-Type", "application/json")
        for name, value in server.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(server.body)))
        self.end_headers()
        self.wfile.write(server.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def jwks_server():
    server = JWKSServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def uri_client(jwks_server, key) -> Client:
    jwks_server.publish(key)
    return jwt_client(jwks_uri=jwks_server.url)


def test_keys_from_the_jwks_uri_are_fetched_once_and_cached(client, uri_client, key, jwks_server):
    for _ in range(3):
        assert token_request(client, assertion(key, uri_client)).status_code == 200

    assert jwks_server.hits == 1


def test_the_jwks_is_fetched_again_when_its_copy_is_a_few_minutes_old(
    client, uri_client, key, jwks_server, clock
):
    assert token_request(client, assertion(key, uri_client, clock.now)).status_code == 200
    clock.now += client_jwks.JWKS_CACHE_TIMEOUT - 1
    assert token_request(client, assertion(key, uri_client, clock.now)).status_code == 200
    assert jwks_server.hits == 1

    clock.now += 1

    assert token_request(client, assertion(key, uri_client, clock.now)).status_code == 200
    assert jwks_server.hits == 2


def test_a_key_removed_from_the_jwks_uri_stops_working_when_the_copy_expires(
    client, uri_client, key, jwks_server, clock
):
    assert token_request(client, assertion(key, uri_client, clock.now)).status_code == 200
    jwks_server.publish(jose.generate_key("ES256"))  # the client rotated its key away

    clock.now += client_jwks.JWKS_CACHE_TIMEOUT

    assert_invalid_client(token_request(client, assertion(key, uri_client, clock.now)))


def test_an_unknown_kid_fetches_the_jwks_again_at_most_every_30_seconds(
    client, uri_client, key, jwks_server, clock
):
    assert token_request(client, assertion(key, uri_client, clock.now)).status_code == 200
    rotated = jose.generate_key("ES256")
    jwks_server.publish(key, rotated)

    # Within 30 s of the last fetch an unknown kid fetches nothing.
    clock.now += client_jwks.JWKS_REFETCH_INTERVAL - 1
    assert_invalid_client(token_request(client, assertion(rotated, uri_client, clock.now)))
    assert jwks_server.hits == 1

    clock.now += 1
    assert token_request(client, assertion(rotated, uri_client, clock.now)).status_code == 200
    assert jwks_server.hits == 2

    # A kid the client never published: one more fetch, then the copy answers.
    stranger = jose.generate_key("ES256")
    clock.now += client_jwks.JWKS_REFETCH_INTERVAL
    for _ in range(3):
        assert_invalid_client(token_request(client, assertion(stranger, uri_client, clock.now)))
    assert jwks_server.hits == 3


def test_a_bad_signature_with_a_known_kid_does_not_fetch_the_jwks_again(
    client, uri_client, key, jwks_server, clock
):
    assert token_request(client, assertion(key, uri_client, clock.now)).status_code == 200
    impostor = jose.generate_key("ES256")
    impostor.update({"kid": key["kid"]})
    clock.now += client_jwks.JWKS_REFETCH_INTERVAL

    assert_invalid_client(token_request(client, assertion(impostor, uri_client, clock.now)))
    assert jwks_server.hits == 1


TOO_LARGE = b'{"keys": [], "pad": "' + b"x" * client_jwks.JWKS_MAX_BYTES + b'"}'


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        pytest.param(500, b"oops", {}, id="server-error"),
        pytest.param(404, b'{"keys": []}', {}, id="not-found"),
        pytest.param(200, b"<html>", {}, id="not-json"),
        pytest.param(200, b'{"keys": {}}', {}, id="not-a-jwk-set"),
        pytest.param(200, b"[]", {}, id="a-list"),
        pytest.param(
            200,
            b'{"keys": [1, "x", {}, {"kty": "RSA"}, {"kty": "EC", "x": 5}]}',
            {},
            id="junk-keys",
        ),
        pytest.param(302, b"", {"Location": "http://127.0.0.1:9/jwks"}, id="redirect"),
        pytest.param(200, TOO_LARGE, {}, id="too-large"),
    ],
)
def test_a_jwks_uri_that_answers_no_usable_jwk_set_is_invalid_client(
    client, uri_client, key, jwks_server, status, body, headers
):
    jwks_server.status, jwks_server.body, jwks_server.headers = status, body, headers

    assert_invalid_client(token_request(client, assertion(key, uri_client)))
    assert jwks_server.hits == 1


def test_a_jwks_uri_nobody_listens_on_is_invalid_client(client, key):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: connections are refused
    oauth_client = jwt_client(jwks_uri=f"http://127.0.0.1:{port}/jwks")

    assert_invalid_client(token_request(client, assertion(key, oauth_client)))


def test_after_a_failed_fetch_the_jwks_uri_is_left_alone_for_a_moment(
    client, uri_client, key, jwks_server, clock
):
    jwks_server.status = 503
    assert_invalid_client(token_request(client, assertion(key, uri_client, clock.now)))

    jwks_server.status = 200
    clock.now += client_jwks.JWKS_FAILURE_BACKOFF - 1
    assert_invalid_client(token_request(client, assertion(key, uri_client, clock.now)))
    assert jwks_server.hits == 1

    clock.now += 1
    assert token_request(client, assertion(key, uri_client, clock.now)).status_code == 200
    assert jwks_server.hits == 2


def test_private_and_encryption_keys_at_the_jwks_uri_are_not_used(
    client, uri_client, key, jwks_server
):
    private = key.export_private(as_dict=True)
    encryption = {**jose.public_jwk(key), "use": "enc"}
    jwks_server.body = json.dumps({"keys": [private, encryption]}).encode()

    assert_invalid_client(token_request(client, assertion(key, uri_client)))


def test_a_changed_jwks_uri_is_fetched_at_once(client, uri_client, key, jwks_server):
    assert token_request(client, assertion(key, uri_client)).status_code == 200
    other = JWKSServer()
    threading.Thread(target=other.serve_forever, args=(0.05,), daemon=True).start()
    try:
        other.publish(key)
        uri_client.jwks_uri = other.url
        uri_client.save()

        assert token_request(client, assertion(key, uri_client)).status_code == 200
        assert other.hits == 1
    finally:
        other.shutdown()
        other.server_close()


# --- metadata --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
)
def test_metadata_lists_private_key_jwt_and_its_algorithms(client, path):
    body = client.get(path).json()

    for endpoint in ("token", "revocation", "introspection"):
        assert "private_key_jwt" in body[f"{endpoint}_endpoint_auth_methods_supported"]
        # RFC 8414 §2: required once private_key_jwt is listed; never none or HMAC.
        algs = body[f"{endpoint}_endpoint_auth_signing_alg_values_supported"]
        assert algs == ["RS256", "PS256", "ES256", "EdDSA"]


def test_the_registrable_signing_algorithms_are_the_accepted_ones():
    field = Client._meta.get_field("token_endpoint_auth_signing_alg")

    assert [value for value, _ in field.choices if value] == list(client_jwks.ALGORITHMS)


# --- hot path and races ----------------------------------------------------------------------


def test_client_credentials_with_private_key_jwt_at_most_3_data_queries(client, oauth_client, key):
    token = assertion(key, oauth_client)
    # Signing keys are cached per process (KEY_CACHE_TIMEOUT): measure the steady state.
    key_ring.signing_key()

    with CaptureQueriesContext(connection) as captured:
        response = token_request(client, token)

    assert response.status_code == 200, response.content
    statements = [q["sql"] for q in captured.captured_queries]
    data = [sql for sql in statements if not sql.upper().startswith(("SAVEPOINT", "RELEASE"))]
    # client, INSERT jti, INSERT access token.
    assert len(data) <= 3, "\n".join(data)
    assert len(statements) <= 7, "\n".join(statements)


@pytest.mark.django_db(transaction=True)
def test_two_requests_racing_with_one_assertion_only_one_wins(key):
    oauth_client = jwt_client(key)
    token = assertion(key, oauth_client)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def worker():
        try:
            http = HttpClient()
            barrier.wait(timeout=10)
            statuses.append(token_request(http, token).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    if 503 in statuses:
        # SQLite before Django 5.1 (no IMMEDIATE transactions) refuses a second writer, maybe
        # after the jti was recorded: never two tokens, nor a 500; the client signs anew.
        assert statuses.count(200) <= 1 and set(statuses) <= {200, 401, 503}, statuses
        return
    assert sorted(statuses) == [200, 401]


# --- registration: Client.clean() --------------------------------------------------------------


def registered(**fields) -> Client:
    values = {
        "name": "Partner",
        "client_type": Client.ClientType.CONFIDENTIAL,
        "token_endpoint_auth_method": Client.AuthMethod.PRIVATE_KEY_JWT,
        "grant_types": ["client_credentials"],
        **fields,
    }
    return Client(**values)


def clean_errors(**fields) -> dict[str, list[str]]:
    try:
        registered(**fields).full_clean()
    except ValidationError as exc:
        return exc.message_dict
    return {}


def rsa_1024() -> dict:
    return jwk.JWK.generate(kty="RSA", size=1024).export_public(as_dict=True)


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"jwks_uri": "https://keys.example.com/jwks"}, id="https-uri"),
        pytest.param({"jwks_uri": "http://127.0.0.1:8000/jwks"}, id="loopback-http-uri"),
        pytest.param({"jwks_uri": "http://localhost/jwks"}, id="localhost-http-uri"),
        pytest.param({"jwks": "INLINE"}, id="inline"),
    ],
)
def test_a_private_key_jwt_client_with_keys_is_valid(keys, fields):
    if fields.get("jwks") == "INLINE":
        fields = {"jwks": public_jwks(*keys.values())}

    assert clean_errors(**fields) == {}


def test_private_key_jwt_needs_no_secret_and_is_confidential(keys):
    oauth_client = registered(jwks=public_jwks(keys["ES256"]))
    oauth_client.full_clean()

    assert oauth_client.secret_hash == "" and not oauth_client.is_public


def jwks_of(*items) -> dict:
    return {"keys": list(items)}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({}, "jwks_uri", "needs a JWK Set or a JWKS URL"),
        ({"jwks": "PRIVATE"}, "jwks", "private key material (d, dp, dq, p, q, qi)"),
        ({"jwks": jwks_of({"kty": "oct", "k": "c2VjcmV0"})}, "jwks", "private key material (k)"),
        ({"jwks": "BOTH", "jwks_uri": "https://keys.example.com/jwks"}, "jwks", "either"),
        ({"jwks_uri": "http://keys.example.com/jwks"}, "jwks_uri", "only for loopback"),
        ({"jwks_uri": "https://keys.example.com/jwks#x"}, "jwks_uri", "fragment"),
        ({"jwks_uri": "com.example.app:/jwks"}, "jwks_uri", "must be an https URL"),
        ({"jwks": [1]}, "jwks", 'a JSON object with a "keys" list'),
        ({"jwks": {"keys": "x"}}, "jwks", 'a JSON object with a "keys" list'),
        ({"jwks": jwks_of("x")}, "jwks", "not a JSON object"),
        ({"jwks": jwks_of({"kty": "RSA", "n": "AQAB", "e": "AQAB"})}, "jwks", "not a valid"),
        ({"jwks": jwks_of({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"})}, "jwks", "valid"),
        ({"jwks": jwks_of({"kty": "nope"})}, "jwks", "not a valid public key"),
        ({"jwks": jwks_of({})}, "jwks", "not a valid public key (NotImplementedError)"),
        ({"jwks": "RSA1024"}, "jwks", "2048 bits or more"),
        ({"jwks": "P384"}, "jwks", "P-256"),
        ({"jwks": "X25519"}, "jwks", "Ed25519"),
        ({"jwks": "RS384"}, "jwks", "RS256, PS256, ES256, EdDSA"),
        ({"jwks": "DUPLICATE"}, "jwks", "not unique"),
        ({"jwks": "KID_NUMBER"}, "jwks", "kid must be a non-empty string"),
        ({"jwks": "ENC_ONLY"}, "jwks", "no public signature key"),
        ({"jwks": jwks_of()}, "jwks", "no public signature key"),
        (
            {"client_type": "public", "jwks_uri": "https://keys.example.com/jwks"},
            "token_endpoint_auth_method",
            "public client authenticates with none",
        ),
    ],
)
def test_registration_refuses(keys, fields, field, message):
    public = jose.public_jwk(keys["ES256"])
    examples = {
        "PRIVATE": jwks_of(keys["RS256"].export_private(as_dict=True)),
        "BOTH": jwks_of(public),
        "RSA1024": jwks_of(rsa_1024()),
        "P384": jwks_of(jwk.JWK.generate(kty="EC", crv="P-384").export_public(as_dict=True)),
        "X25519": jwks_of(jwk.JWK.generate(kty="OKP", crv="X25519").export_public(as_dict=True)),
        "RS384": jwks_of({**jose.public_jwk(keys["RS256"]), "alg": "RS384"}),
        "DUPLICATE": jwks_of(public, {**jose.public_jwk(keys["EdDSA"]), "kid": public["kid"]}),
        "KID_NUMBER": jwks_of({**public, "kid": 5}),
        "ENC_ONLY": jwks_of({**public, "use": "enc"}),
    }
    if isinstance(fields.get("jwks"), str):
        fields = {**fields, "jwks": examples[fields["jwks"]]}

    errors = clean_errors(**fields)

    assert any(message in text for text in errors.get(field, [])), errors


def test_several_keys_without_kid_are_fine(keys):
    public = [jose.public_jwk(keys[alg]) for alg in ("ES256", "EdDSA")]
    for item in public:
        del item["kid"]

    assert clean_errors(jwks=jwks_of(*public)) == {}


def test_a_generate_member_never_makes_a_key(client, key):
    # jwcrypto's JWK(generate=...) would make a new private key: the member is ignored.
    public = {**jose.public_jwk(key), "generate": "EC", "crv": "P-256"}
    oauth_client = jwt_client(jwks=jwks_of(public))

    assert oauth_client.full_clean() is None
    assert token_request(client, assertion(key, oauth_client)).status_code == 200


def test_a_secret_client_may_keep_keys_it_does_not_use(keys):
    assert (
        clean_errors(
            token_endpoint_auth_method=Client.AuthMethod.CLIENT_SECRET_BASIC,
            jwks=public_jwks(keys["ES256"]),
        )
        == {}
    )


# --- registration: the admin -----------------------------------------------------------------


def admin_data(**overrides) -> dict:
    return {
        "name": "Partner",
        "client_id": "ok_partner-service",
        "client_type": "confidential",
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks_uri": "",
        "jwks": "",
        "token_endpoint_auth_signing_alg": "",
        "redirect_uris": "",
        "grant_types": ["client_credentials"],
        "access_token_format": "",
        "id_token_signed_response_alg": "RS256",
        "subject_type": "public",
        "is_active": "on",
        "metadata": "{}",
        **overrides,
    }


def test_the_admin_edits_the_key_fields(admin_client):
    page = admin_client.get(f"{ADMIN}/client/add/").content.decode()

    for name in ("jwks_uri", "jwks", "token_endpoint_auth_signing_alg"):
        assert f'name="{name}"' in page
    assert '<option value="private_key_jwt"' in page


def test_the_admin_registers_a_private_key_jwt_client_without_a_secret(client, admin_client, key):
    jwks = json.dumps(public_jwks(key))

    response = admin_client.post(f"{ADMIN}/client/add/", admin_data(jwks=jwks))

    # No secret page: the client proves itself with its key.
    assert response.status_code == 302, response.content
    created = Client.objects.get(client_id="ok_partner-service")
    assert created.secret_hash == "" and created.jwks == public_jwks(key)
    assert token_request(client, assertion(key, created)).status_code == 200


def test_the_admin_refuses_a_private_key(admin_client, keys):
    jwks = json.dumps(jwks_of(keys["ES256"].export_private(as_dict=True)))

    response = admin_client.post(f"{ADMIN}/client/add/", admin_data(jwks=jwks))

    assert response.status_code == 200
    assert "private key material" in response.content.decode()
    assert not Client.objects.exists()


def test_the_admin_assumes_https_for_a_jwks_uri_without_scheme(admin_client):
    response = admin_client.post(
        f"{ADMIN}/client/add/", admin_data(jwks_uri="keys.example.com/jwks")
    )

    if django.VERSION < (5, 0):
        # Django 4.2's URL field assumes http (no assume_scheme), which only loopback may use.
        assert response.status_code == 200
        assert "https" in response.content.decode()
        assert not Client.objects.exists()
        return
    assert response.status_code == 302, response.content
    assert Client.objects.get().jwks_uri == "https://keys.example.com/jwks"


def test_switching_a_client_to_private_key_jwt_drops_its_secret(admin_client, key):
    secret_client = ClientFactory(
        client_id="ok_partner-service", grant_types=["client_credentials"]
    )
    data = admin_data(jwks=json.dumps(public_jwks(key)))

    response = admin_client.post(f"{ADMIN}/client/{secret_client.pk}/change/", data)

    assert response.status_code == 302, response.content
    secret_client.refresh_from_db()
    assert secret_client.secret_hash == ""


def test_the_admin_makes_no_secret_for_a_private_key_jwt_client(admin_client, oauth_client):
    url = f"{ADMIN}/client/{oauth_client.pk}/regenerate-secret/"
    before = oauth_client.secret_hash

    response = admin_client.post(url, follow=True)

    assert "it has no secret" in response.content.decode()
    oauth_client.refresh_from_db()
    assert oauth_client.secret_hash == before


def test_the_admin_page_of_a_private_key_jwt_client_offers_no_secret(admin_client, oauth_client):
    page = admin_client.get(f"{ADMIN}/client/{oauth_client.pk}/change/").content.decode()
    assert "regenerate-secret" not in page


# --- registration: createclient --------------------------------------------------------------


def createclient(*args) -> str:
    out = StringIO()
    call_command("createclient", "--name=Partner", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_createclient_with_a_jwks_file_registers_private_key_jwt(client, key, tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(public_jwks(key)))

    body = json.loads(
        createclient("--grant-type=client_credentials", f"--jwks-file={path}", "--json")
    )

    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert body["client_secret"] is None and body["jwks"] == public_jwks(key)
    created = Client.objects.get(client_id=body["client_id"])
    assert created.secret_hash == ""
    assert token_request(client, assertion(key, created)).status_code == 200


def test_createclient_wraps_a_single_jwk_and_says_there_is_no_secret(key, tmp_path):
    path = tmp_path / "key.json"
    path.write_text(json.dumps(jose.public_jwk(key)))

    out = createclient(
        "--grant-type=client_credentials", f"--jwks-file={path}", "--auth-signing-alg=ES256"
    )

    assert "No secret" in out and "Client secret" not in out
    created = Client.objects.get()
    assert created.jwks == public_jwks(key)
    assert created.token_endpoint_auth_signing_alg == "ES256"


def test_createclient_with_a_jwks_uri(key):
    body = json.loads(
        createclient(
            "--grant-type=client_credentials", "--jwks-uri=https://keys.example.com/jwks", "--json"
        )
    )

    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert Client.objects.get().jwks_uri == "https://keys.example.com/jwks"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--jwks-file=PRIVATE"], "private key material"),
        (["--jwks-file=/nonexistent/jwks.json"], "cannot be read"),
        (["--jwks-file=NOT_JSON"], "cannot be read"),
        (["--jwks-file=PUBLIC", f"--client-secret={'x' * 40}"], "has no secret"),
        (["--auth-method=private_key_jwt"], "needs a JWK Set or a JWKS URL"),
        (["--jwks-uri=http://keys.example.com/jwks"], "only for loopback"),
        (["--jwks-file=PUBLIC", "--jwks-uri=https://keys.example.com/jwks"], "not allowed with"),
    ],
)
def test_createclient_refuses_bad_keys_and_writes_nothing(keys, tmp_path, args, message):
    files = {
        "PRIVATE": json.dumps(jwks_of(keys["ES256"].export_private(as_dict=True))),
        "PUBLIC": json.dumps(public_jwks(keys["ES256"])),
        "NOT_JSON": "{",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    args = [a.replace("=PRIVATE", f"={tmp_path / 'PRIVATE'}") for a in args]
    args = [a.replace("=PUBLIC", f"={tmp_path / 'PUBLIC'}") for a in args]
    args = [a.replace("=NOT_JSON", f"={tmp_path / 'NOT_JSON'}") for a in args]

    with pytest.raises(CommandError, match=message):
        createclient("--grant-type=client_credentials", *args)

    assert not Client.objects.exists()
