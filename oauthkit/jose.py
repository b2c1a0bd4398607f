"""All JOSE work of oauthkit, on jwcrypto: parsing and generating keys, signing and
verifying compact JWS/JWT.

Verification is strict by construction: the algorithm must be one of ``algs`` and
match the key type, ``none`` and HMAC are never accepted with public keys, and the
caller checks claims explicitly (``check_time_claims``).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from django.views.decorators.debug import sensitive_variables
from jwcrypto import jwk, jws
from jwcrypto.common import JWException, json_encode

#: Asymmetric algorithms oauthkit signs and accepts, by key type.
ALGORITHMS_BY_KTY = {
    "RSA": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    "EC": ("ES256", "ES384", "ES512"),
    "OKP": ("EdDSA",),
}
SUPPORTED_ALGORITHMS = tuple(a for algs in ALGORITHMS_BY_KTY.values() for a in algs)

_GENERATE_PARAMS = {
    "RS256": {"kty": "RSA", "size": 2048},
    "PS256": {"kty": "RSA", "size": 2048},
    "ES256": {"kty": "EC", "crv": "P-256"},
    "EdDSA": {"kty": "OKP", "crv": "Ed25519"},
}
_EC_ALG_BY_CURVE = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}


class JOSEError(Exception):
    """A token or key that cannot be parsed or verified."""


def generate_key(algorithm: str = "RS256") -> jwk.JWK:
    """A new private key for ``algorithm`` with ``kid`` (its thumbprint) and ``alg`` set."""
    try:
        params = _GENERATE_PARAMS[algorithm]
    except KeyError:
        raise JOSEError(f"Cannot generate a key for {algorithm!r}.") from None
    key = jwk.JWK.generate(**params)
    return _complete(key, algorithm)


def parse_key(material: str | dict, algorithm: str | None = None) -> jwk.JWK:
    """A key from a PEM string or a JWK (JSON string or dict); ``kid`` and ``alg`` filled in."""
    try:
        if isinstance(material, dict):
            key = jwk.JWK(**material)
        elif material.lstrip().startswith("{"):
            key = jwk.JWK.from_json(material)
        else:
            key = jwk.JWK.from_pem(material.encode())
    except (ValueError, TypeError, AttributeError, JWException) as exc:
        # AttributeError: neither str nor dict (None from a missing environment variable).
        raise JOSEError(f"Unreadable key: {exc}") from exc
    return _complete(key, algorithm or key.get("alg") or default_algorithm(key))


def default_algorithm(key: jwk.JWK) -> str:
    kty = key.get("kty")
    if kty == "EC":
        return _EC_ALG_BY_CURVE.get(key.get("crv"), "ES256")
    if kty == "OKP":
        return "EdDSA"
    if kty == "RSA":
        return "RS256"
    raise JOSEError(f"Unsupported key type {kty!r}: only asymmetric keys sign tokens.")


def _complete(key: jwk.JWK, algorithm: str) -> jwk.JWK:
    if algorithm not in ALGORITHMS_BY_KTY.get(key.get("kty"), ()):
        raise JOSEError(f"Algorithm {algorithm!r} does not fit a {key.get('kty')} key.")
    values = {"alg": algorithm, "use": "sig"}
    if not key.get("kid"):
        values["kid"] = key.thumbprint()
    key.update(values)
    return key


def public_jwk(key: jwk.JWK) -> dict[str, Any]:
    """The public half of ``key`` as a JWK dict, for a JWKS document."""
    return key.export_public(as_dict=True)


def sign(claims: dict[str, Any], key: jwk.JWK, *, typ: str | None = None) -> str:
    """A compact JWS over ``claims`` with ``alg`` and ``kid`` from the key."""
    header = {"alg": key["alg"], "kid": key["kid"]}
    if typ:
        header["typ"] = typ
    # JWSCore signs one compact token without the JWS object's per-token setup
    # (a deep copy of the header registry), the hot path's largest avoidable cost.
    signed = jws.JWSCore(key["alg"], key, json_encode(header), json_encode(claims).encode()).sign()
    return f"{signed['protected']}.{signed['payload'].decode()}.{signed['signature']}"


@sensitive_variables("token")
def unverified_header(token: str) -> dict[str, Any]:
    """The protected header, for choosing a key; never trust anything else from it."""
    try:
        header = json.loads(_b64decode(token.split(".", 1)[0]))
    except (ValueError, IndexError) as exc:
        raise JOSEError("Malformed token.") from exc
    if not isinstance(header, dict):
        raise JOSEError("Malformed token header.")
    return header


# Django's error reports show the token (and its signature, in the frames below) as stars.
@sensitive_variables("token", "signature_b64", "signature", "value")
def verify(
    token: str,
    keys: dict[str, jwk.JWK],
    *,
    algs: tuple[str, ...],
    typ: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS against the key named by its ``kid``; return (header, claims).

    ``keys`` maps kid to public or private key. The algorithm must be in ``algs`` and
    fit the key's type (no ``none``, no HMAC with a public key).
    """
    if not isinstance(token, str) or token.count(".") != 2:
        raise JOSEError("Not a compact JWS.")
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = unverified_header(token)
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise JOSEError("Malformed key ID.")
    key = keys.get(kid) if kid else _only(keys)
    if key is None:
        raise JOSEError("Unknown signing key.")
    _check_header(header, key, algs, typ)
    try:
        payload = _b64decode(payload_b64)
        # JWSCore checks one signature over the exact bytes received, without the JWS
        # object's per-token setup (a deep copy of its header registry).
        core = jws.JWSCore(header["alg"], key, _b64decode(header_b64).decode(), payload)
        # The signature is checked over the re-encoded parts: they must be the parts
        # received (RFC 7515 §2: base64url without padding, one encoding per value).
        if core.protected != header_b64 or core.payload != payload_b64.encode():
            raise JOSEError("Invalid signature.")
        core.verify(_b64decode(signature_b64))
        claims = json.loads(payload)
    except (JWException, ValueError, TypeError) as exc:
        raise JOSEError("Invalid signature.") from exc
    if not isinstance(claims, dict):
        raise JOSEError("Claims are not a JSON object.")
    return header, claims


def _check_header(
    header: dict[str, Any], key: jwk.JWK, algs: tuple[str, ...], typ: str | None
) -> None:
    alg = header.get("alg")
    if alg not in algs or alg not in ALGORITHMS_BY_KTY.get(key.get("kty"), ()):
        raise JOSEError("Algorithm not allowed.")
    if typ is not None and str(header.get("typ", "")).lower() not in _typ_forms(typ):
        raise JOSEError("Unexpected token type.")
    # RFC 7515 §4.1.11: no extension is understood here, so a critical one is refused;
    # RFC 7797 (unencoded payloads) is such an extension.
    if "crit" in header or "b64" in header:
        raise JOSEError("Unsupported header parameter.")


def check_time_claims(
    claims: dict[str, Any], *, leeway: int = 30, now: float | None = None
) -> None:
    """Reject an expired (``exp``) or not-yet-valid (``nbf``) token, with ``leeway`` seconds."""
    now = time.time() if now is None else now
    exp = claims.get("exp")
    # json.loads accepts NaN and Infinity; a NaN ``exp`` would never compare as past.
    if not is_numeric_date(exp) or now > exp + leeway:
        raise JOSEError("Token expired.")
    nbf = claims.get("nbf")
    if nbf is not None and (not is_numeric_date(nbf) or now + leeway < nbf):
        raise JOSEError("Token not yet valid.")


def is_numeric_date(value: Any) -> bool:
    """RFC 7519 §2 NumericDate: a finite JSON number (bool is an int in Python)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _only(keys: dict[str, jwk.JWK]) -> jwk.JWK | None:
    return next(iter(keys.values())) if len(keys) == 1 else None


def _typ_forms(typ: str) -> set[str]:
    # RFC 7515 §4.1.9: "application/" may be omitted from the media type.
    typ = typ.lower()
    return {typ, f"application/{typ}"}


def _b64decode(value: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
