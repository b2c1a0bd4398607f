"""oauthkit.jose: key parsing and generation, signing, and strict verification."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from jwcrypto import jwk, jws
from jwcrypto.common import json_encode

from oauthkit import jose

ALGORITHMS = ["RS256", "ES256", "EdDSA"]
KTY = {"RS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}
CLAIMS = {"iss": "https://issuer.example", "sub": "alice", "exp": 2_000_000_000}


@pytest.fixture(scope="module")
def keys() -> dict[str, jwk.JWK]:
    """One private key per algorithm, generated once (RSA generation is slow)."""
    return {alg: jose.generate_key(alg) for alg in ALGORITHMS}


@pytest.fixture(scope="module")
def rsa(keys) -> jwk.JWK:
    return keys["RS256"]


def b64(data: bytes | dict | list | str) -> str:
    if not isinstance(data, bytes):
        data = json.dumps(data).encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_only(key: jwk.JWK) -> jwk.JWK:
    return jwk.JWK(**key.export_public(as_dict=True))


def hs256_token(header: dict, claims: dict, secret: bytes) -> str:
    signing_input = f"{b64(header)}.{b64(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


# --- generate_key / parse_key -------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_generate_key_sets_kid_alg_and_use(keys, alg):
    key = keys[alg]
    assert key["kty"] == KTY[alg]
    assert key["alg"] == alg
    assert key["use"] == "sig"
    assert key["kid"] == key.thumbprint()
    assert key.has_private


def test_generate_key_refuses_hmac_and_unknown_algorithms():
    for alg in ("HS256", "none", "RS1"):
        with pytest.raises(jose.JOSEError):
            jose.generate_key(alg)


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_parse_key_from_private_pem(keys, alg):
    pem = keys[alg].export_to_pem(private_key=True, password=None).decode()
    key = jose.parse_key(pem)
    assert key.has_private
    assert key["alg"] == alg
    assert key["kid"] == keys[alg]["kid"]  # the thumbprint depends only on the public key


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_parse_key_from_public_pem_verifies_but_cannot_sign(keys, alg):
    pem = keys[alg].export_to_pem().decode()
    key = jose.parse_key(pem)
    assert not key.has_private
    assert key["alg"] == alg
    token = jose.sign(CLAIMS, keys[alg])
    _, claims = jose.verify(token, {key["kid"]: key}, algs=(alg,))
    assert claims == CLAIMS


def test_parse_key_from_jwk_json_string_and_dict(rsa):
    from_json = jose.parse_key(rsa.export_private())
    from_dict = jose.parse_key(rsa.export_private(as_dict=True))
    for key in (from_json, from_dict):
        assert key.has_private
        assert key["kid"] == rsa["kid"]
        assert key["alg"] == "RS256"


def test_parse_key_keeps_a_given_kid_and_fills_a_missing_alg(keys):
    material = keys["ES256"].export_public(as_dict=True)
    del material["alg"]
    material["kid"] = "my-key"
    key = jose.parse_key(material)
    assert key["kid"] == "my-key"
    assert key["alg"] == "ES256"


def test_parse_key_with_an_explicit_algorithm(rsa):
    assert jose.parse_key(rsa.export_public(), "PS256")["alg"] == "PS256"
    with pytest.raises(jose.JOSEError):
        jose.parse_key(rsa.export_public(), "ES256")  # does not fit an RSA key


def test_parse_key_reads_a_public_key_in_subject_public_key_info_form(keys):
    public = keys["ES256"].get_op_key("verify")
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    assert jose.parse_key(pem)["kid"] == keys["ES256"]["kid"]


@pytest.mark.parametrize(
    "material",
    [
        "not a key",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "{not json",
        {"kty": "RSA"},  # no modulus
        {"kty": "oct", "k": "c2VjcmV0"},  # symmetric keys never sign tokens
        {},
        b"bytes",
        None,  # e.g. a missing environment variable
        42,
    ],
)
def test_unreadable_key_material_is_a_jose_error(material):
    with pytest.raises(jose.JOSEError):
        jose.parse_key(material)


def test_public_jwk_has_no_private_members(keys):
    for key in keys.values():
        public = jose.public_jwk(key)
        assert not {"d", "p", "q", "dp", "dq", "qi"} & public.keys()
        assert public["kid"] == key["kid"]


# --- sign / verify --------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_sign_verify_round_trip(keys, alg):
    key = keys[alg]
    token = jose.sign(CLAIMS, key, typ="at+jwt")
    published = {key["kid"]: public_only(key)}
    header, claims = jose.verify(token, published, algs=jose.SUPPORTED_ALGORITHMS, typ="at+jwt")
    assert claims == CLAIMS
    assert header == {"alg": alg, "kid": key["kid"], "typ": "at+jwt"}
    assert jose.unverified_header(token) == header


def test_verify_with_a_private_key_and_without_typ(rsa):
    header, claims = jose.verify(jose.sign(CLAIMS, rsa), {rsa["kid"]: rsa}, algs=("RS256",))
    assert claims == CLAIMS
    assert "typ" not in header


def test_typ_accepts_the_full_media_type_in_any_case(rsa):
    # RFC 7515 §4.1.9: "application/" may be omitted; media types are case-insensitive.
    for typ in ("application/at+jwt", "AT+JWT"):
        token = jose.sign(CLAIMS, rsa, typ=typ)
        jose.verify(token, {rsa["kid"]: rsa}, algs=("RS256",), typ="at+jwt")


def test_a_token_without_kid_is_verified_only_when_one_key_is_known(keys, rsa):
    token = f"{b64({'alg': 'RS256'})}.{b64(CLAIMS)}"
    raw = rsa.get_op_key("sign").sign(token.encode(), padding.PKCS1v15(), hashes.SHA256())
    token = f"{token}.{b64(raw)}"
    assert jose.verify(token, {rsa["kid"]: rsa}, algs=("RS256",))[1] == CLAIMS
    two = {rsa["kid"]: rsa, keys["ES256"]["kid"]: keys["ES256"]}
    with pytest.raises(jose.JOSEError, match="Unknown signing key"):
        jose.verify(token, two, algs=("RS256",))


@pytest.mark.parametrize("algs", [jose.SUPPORTED_ALGORITHMS, ("none", *jose.SUPPORTED_ALGORITHMS)])
def test_verify_refuses_alg_none(rsa, algs):
    # RFC 8725 §3.1: never accept unsigned tokens, even if a caller lists "none".
    token = f"{b64({'alg': 'none', 'kid': rsa['kid']})}.{b64(CLAIMS)}."
    with pytest.raises(jose.JOSEError, match="Algorithm not allowed"):
        jose.verify(token, {rsa["kid"]: public_only(rsa)}, algs=algs)


@pytest.mark.parametrize("alg", ALGORITHMS)
@pytest.mark.parametrize("secret_form", ["pem", "jwk"])
def test_verify_refuses_hmac_keyed_with_the_public_key(keys, alg, secret_form):
    # RFC 8725 §2.1 / §3.1: the classic key-confusion attack. The attacker knows the public
    # key and uses its bytes as an HMAC secret; the verifier must not treat it as one.
    key = keys[alg]
    public = public_only(key)
    secret = public.export_to_pem() if secret_form == "pem" else public.export_public().encode()
    header = {"alg": "HS256", "kid": key["kid"], "typ": "at+jwt"}
    for kid_header in (header, {k: v for k, v in header.items() if k != "kid"}):
        token = hs256_token(kid_header, CLAIMS, secret)
        for algs in (jose.SUPPORTED_ALGORITHMS, ("HS256", *jose.SUPPORTED_ALGORITHMS)):
            with pytest.raises(jose.JOSEError, match="Algorithm not allowed"):
                jose.verify(token, {key["kid"]: public}, algs=algs, typ="at+jwt")


def test_verify_refuses_an_algorithm_not_in_algs(keys):
    token = jose.sign(CLAIMS, keys["ES256"])
    with pytest.raises(jose.JOSEError, match="Algorithm not allowed"):
        jose.verify(token, {keys["ES256"]["kid"]: keys["ES256"]}, algs=("RS256", "EdDSA"))


def test_verify_refuses_an_algorithm_that_does_not_fit_the_key_type(keys, rsa):
    ec = keys["ES256"]
    # An RS256 token whose kid names an EC key.
    forged = jose.sign(CLAIMS, rsa).split(".")
    forged[0] = b64({"alg": "RS256", "kid": ec["kid"]})
    with pytest.raises(jose.JOSEError, match="Algorithm not allowed"):
        jose.verify(".".join(forged), {ec["kid"]: ec}, algs=jose.SUPPORTED_ALGORITHMS)
    # And a correctly signed RS256 token checked against an EC key under its kid.
    token = jose.sign(CLAIMS, rsa)
    with pytest.raises(jose.JOSEError, match="Algorithm not allowed"):
        jose.verify(token, {rsa["kid"]: ec}, algs=jose.SUPPORTED_ALGORITHMS)


def test_verify_refuses_an_unknown_kid(keys, rsa):
    token = jose.sign(CLAIMS, rsa)
    with pytest.raises(jose.JOSEError, match="Unknown signing key"):
        jose.verify(token, {keys["ES256"]["kid"]: keys["ES256"]}, algs=jose.SUPPORTED_ALGORITHMS)
    with pytest.raises(jose.JOSEError, match="Unknown signing key"):
        jose.verify(token, {}, algs=jose.SUPPORTED_ALGORITHMS)


def test_verify_refuses_a_token_signed_by_another_key_under_a_known_kid(keys):
    attacker = jose.generate_key("ES256")
    token = jose.sign(CLAIMS, attacker).split(".")
    token[0] = b64({"alg": "ES256", "kid": keys["ES256"]["kid"]})
    published = {keys["ES256"]["kid"]: public_only(keys["ES256"])}
    with pytest.raises(jose.JOSEError, match="Invalid signature"):
        jose.verify(".".join(token), published, algs=("ES256",))


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_verify_refuses_a_tampered_payload(keys, alg):
    key = keys[alg]
    header, _, signature = jose.sign(CLAIMS, key).split(".")
    tampered = f"{header}.{b64({**CLAIMS, 'sub': 'mallory'})}.{signature}"
    with pytest.raises(jose.JOSEError, match="Invalid signature"):
        jose.verify(tampered, {key["kid"]: key}, algs=jose.SUPPORTED_ALGORITHMS)


def test_verify_refuses_a_tampered_header(rsa):
    _, payload, signature = jose.sign(CLAIMS, rsa, typ="JWT").split(".")
    tampered = f"{b64({'alg': 'RS256', 'kid': rsa['kid'], 'typ': 'at+jwt'})}.{payload}.{signature}"
    with pytest.raises(jose.JOSEError, match="Invalid signature"):
        jose.verify(tampered, {rsa["kid"]: rsa}, algs=("RS256",), typ="at+jwt")


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "application/jwt", "at+jwt+x"])
def test_verify_refuses_a_wrong_typ(rsa, typ):
    # RFC 9068 §4: access tokens must carry typ at+jwt, so an ID token cannot pass as one.
    token = jose.sign(CLAIMS, rsa, typ=typ)
    with pytest.raises(jose.JOSEError, match="Unexpected token type"):
        jose.verify(token, {rsa["kid"]: rsa}, algs=("RS256",), typ="at+jwt")


@pytest.mark.parametrize(
    "token",
    [
        None,
        b"a.b.c",
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "!!!.e30.sig",  # header is not base64url JSON
        f"{b64(b'{not json')}.e30.sig",
        f"{b64([1, 2])}.e30.sig",  # header is not an object
        b64(bytes([0xFF, 0xFE])) + ".e30.sig",  # header is not UTF-8
        f"{b64({'alg': 'RS256', 'kid': 123})}.e30.sig",
        f"{b64({'alg': 'RS256', 'kid': ['a']})}.e30.sig",
        f"{b64({'alg': ['RS256'], 'kid': 'k'})}.e30.sig",
    ],
)
def test_verify_refuses_malformed_tokens(rsa, token):
    with pytest.raises(jose.JOSEError):
        jose.verify(token, {"k": rsa, rsa["kid"]: rsa}, algs=jose.SUPPORTED_ALGORITHMS)


def test_verify_refuses_bad_base64_in_payload_or_signature(rsa):
    header, payload, signature = jose.sign(CLAIMS, rsa).split(".")
    for token in (f"{header}.***.{signature}", f"{header}.{payload}.***", f"{header}.{payload}."):
        with pytest.raises(jose.JOSEError, match="Invalid signature"):
            jose.verify(token, {rsa["kid"]: rsa}, algs=("RS256",))


@pytest.mark.parametrize("payload", [[1, 2], "claims", 42, None])
def test_verify_refuses_a_validly_signed_payload_that_is_not_an_object(rsa, payload):
    # RFC 7519 §7.2 step 10: the claims set must be a JSON object.
    token = jws.JWS(json.dumps(payload).encode())
    token.add_signature(
        rsa, alg="RS256", protected=json_encode({"alg": "RS256", "kid": rsa["kid"]})
    )
    compact = token.serialize(compact=True)
    with pytest.raises(jose.JOSEError, match="not a JSON object"):
        jose.verify(compact, {rsa["kid"]: rsa}, algs=("RS256",))


def test_verify_refuses_a_payload_that_is_not_json(rsa):
    token = jws.JWS(b"\xff not json")
    token.add_signature(
        rsa, alg="RS256", protected=json_encode({"alg": "RS256", "kid": rsa["kid"]})
    )
    with pytest.raises(jose.JOSEError):
        jose.verify(token.serialize(compact=True), {rsa["kid"]: rsa}, algs=("RS256",))


def test_unverified_header_refuses_garbage():
    for token in ("", "!!!", b64([1]), b64("x")):
        with pytest.raises(jose.JOSEError):
            jose.unverified_header(token)


# --- check_time_claims ------------------------------------------------------------------------

NOW = 1_700_000_000


def test_time_claims_within_validity_pass():
    jose.check_time_claims({"exp": NOW + 60, "nbf": NOW - 60}, now=NOW)
    jose.check_time_claims({"exp": NOW + 0.5}, now=NOW)


def test_expired_token_is_refused_after_the_leeway():
    # RFC 7519 §4.1.4: a small leeway absorbs clock skew.
    jose.check_time_claims({"exp": NOW - 30}, now=NOW, leeway=30)
    with pytest.raises(jose.JOSEError, match="expired"):
        jose.check_time_claims({"exp": NOW - 31}, now=NOW, leeway=30)
    with pytest.raises(jose.JOSEError, match="expired"):
        jose.check_time_claims({"exp": NOW - 1}, now=NOW, leeway=0)


def test_not_yet_valid_token_is_refused_after_the_leeway():
    # RFC 7519 §4.1.5.
    jose.check_time_claims({"exp": NOW + 3600, "nbf": NOW + 30}, now=NOW, leeway=30)
    with pytest.raises(jose.JOSEError, match="not yet valid"):
        jose.check_time_claims({"exp": NOW + 3600, "nbf": NOW + 31}, now=NOW, leeway=30)
    with pytest.raises(jose.JOSEError, match="not yet valid"):
        jose.check_time_claims({"exp": NOW + 3600, "nbf": NOW + 1}, now=NOW, leeway=0)


def test_time_claims_default_to_the_current_time():
    with pytest.raises(jose.JOSEError):
        jose.check_time_claims({"exp": NOW})  # 2023, long past
    jose.check_time_claims({"exp": 4_000_000_000})


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"exp": None},
        {"exp": str(NOW + 60)},
        {"exp": True},
        {"exp": float("nan")},
        {"exp": float("inf")},
        {"exp": NOW + 60, "nbf": "0"},
        {"exp": NOW + 60, "nbf": float("nan")},
    ],
)
def test_missing_or_malformed_time_claims_are_refused(claims):
    # RFC 7519 §2 NumericDate: a finite number; oauthkit requires exp.
    with pytest.raises(jose.JOSEError):
        jose.check_time_claims(claims, now=NOW)


def test_nan_exp_from_a_signed_token_never_passes(rsa):
    # json.loads accepts the NaN literal; such a token must not live forever.
    token = jws.JWS(b'{"exp": NaN}')
    token.add_signature(
        rsa, alg="RS256", protected=json_encode({"alg": "RS256", "kid": rsa["kid"]})
    )
    _, claims = jose.verify(token.serialize(compact=True), {rsa["kid"]: rsa}, algs=("RS256",))
    with pytest.raises(jose.JOSEError):
        jose.check_time_claims(claims, now=NOW)


def _with_header(token: str, header: dict, key: jwk.JWK) -> str:
    """Re-sign ``token``'s payload under ``header`` (a correctly signed token)."""
    payload = base64.urlsafe_b64decode(token.split(".")[1] + "==")
    signed = jws.JWSCore(header["alg"], key, json_encode(header), payload).sign()
    return f"{signed['protected']}.{signed['payload'].decode()}.{signed['signature']}"


@pytest.mark.parametrize(
    "extra", [{"crit": ["exp"], "exp": 1}, {"b64": False, "crit": ["b64"]}, {"b64": True}]
)
def test_critical_and_unencoded_payload_headers_are_refused(rsa, extra):
    # RFC 7515 §4.1.11: no extension is understood, so none may be marked critical.
    token = jose.sign({"sub": "a"}, rsa)
    header = {"alg": "RS256", "kid": rsa["kid"], **extra}
    with pytest.raises(jose.JOSEError):
        jose.verify(_with_header(token, header, rsa), {rsa["kid"]: rsa}, algs=("RS256",))


def test_a_padded_or_re_encoded_part_is_refused(rsa):
    token = jose.sign({"sub": "a"}, rsa)
    header, payload, signature = token.split(".")
    with pytest.raises(jose.JOSEError):
        jose.verify(f"{header}.{payload}=.{signature}", {rsa["kid"]: rsa}, algs=("RS256",))
