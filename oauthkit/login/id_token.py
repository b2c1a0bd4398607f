"""ID token validation (OIDC Core §3.1.3.7), also applied to tokens straight from the
token endpoint (security checklist, login client 3), and to ID tokens of refresh
responses (§12.2).

Each failure raises :class:`InvalidIDToken` with a specific ``code`` so that a log line or
a test says which rule was broken.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from oauthkit import jose
from oauthkit.conf import oauthkit_settings

from .discovery import signing_keys
from .errors import AuthenticationTooOld, InvalidIDToken
from .http import ProviderHTTP
from .providers.base import Provider

_HASH_BY_ALG_SUFFIX = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def verify_signed_token(
    provider: Provider, token: str, *, http: ProviderHTTP | None = None, typ: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a JWT's signature against the provider's JWKS; return (header, claims).

    Only the provider's allowed asymmetric algorithms pass: ``none`` and HMAC (which a
    forger could key with the public key) are refused before any key is touched.
    """
    try:
        header = jose.unverified_header(token)
    except jose.JOSEError as exc:
        raise InvalidIDToken(_("The identity token is malformed."), code="malformed") from exc
    alg = header.get("alg")
    allowed = provider.allowed_algorithms()
    if alg not in allowed:
        raise InvalidIDToken(
            _("The identity token uses a signature algorithm that is not allowed."),
            code="alg_not_allowed",
        )
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise InvalidIDToken(_("The identity token is malformed."), code="malformed")
    jwks_uri = provider.endpoint("jwks_uri", http)
    if not jwks_uri:
        raise InvalidIDToken(_("The provider publishes no signing keys."), code="no_jwks")
    keys = signing_keys(jwks_uri, kid, http=http)
    if (kid and kid not in keys) or (not kid and len(keys) != 1):
        raise InvalidIDToken(
            _("The identity token is signed with an unknown key."), code="unknown_key"
        )
    try:
        return jose.verify(token, keys, algs=allowed, typ=typ)
    except jose.JOSEError as exc:
        raise InvalidIDToken(
            _("The identity token's signature is not valid."), code="bad_signature"
        ) from exc


def check_audience(provider: Provider, claims: dict[str, Any]) -> None:
    """``aud`` contains our client_id; ``azp``, when present or needed, is our client_id."""
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if provider.client_id not in audiences:
        raise InvalidIDToken(_("The identity token was issued to another client."), code="aud")
    azp = claims.get("azp")
    # OIDC Core §3.1.3.7 steps 4-5 (and the 2023 errata: azp only where it matters).
    if (len(audiences) > 1 or azp is not None) and azp != provider.client_id:
        raise InvalidIDToken(_("The identity token was issued to another client."), code="azp")


def check_times(claims: dict[str, Any], *, now: float | None = None) -> None:
    """``exp`` in the future and ``iat`` not in the future, with the configured leeway."""
    leeway = int(oauthkit_settings.LOGIN["LEEWAY"].total_seconds())
    now = time.time() if now is None else now
    try:
        jose.check_time_claims(claims, leeway=leeway, now=now)
    except jose.JOSEError as exc:
        raise InvalidIDToken(_("The identity token has expired."), code="expired") from exc
    iat = claims.get("iat")
    if not jose.is_numeric_date(iat) or iat > now + leeway:
        raise InvalidIDToken(_("The identity token's issue time is not valid."), code="iat")


def check_auth_time(claims: dict[str, Any], max_age: int, *, now: float | None = None) -> None:
    """The person authenticated at most ``max_age`` seconds ago (plus ``LEEWAY``).

    OIDC Core §3.1.2.1: ``auth_time`` is REQUIRED when ``max_age`` was requested;
    §3.1.3.7 step 13: the client checks it, since a provider may ignore ``max_age``.
    """
    leeway = int(oauthkit_settings.LOGIN["LEEWAY"].total_seconds())
    now = time.time() if now is None else now
    auth_time = claims.get("auth_time")
    if auth_time is None:
        raise InvalidIDToken(
            _("The provider did not say when you last signed in there."), code="auth_time_missing"
        )
    if not jose.is_numeric_date(auth_time) or auth_time > now + leeway:
        raise InvalidIDToken(_("The identity token's sign-in time is not valid."), code="auth_time")
    if now - auth_time > max_age + leeway:
        raise AuthenticationTooOld()


def token_hash(value: str, alg: str) -> str:
    """``at_hash`` / ``c_hash``: left half of the hash the signature algorithm uses (§3.1.3.6)."""
    digest = hashlib.sha512 if alg == "EdDSA" else _HASH_BY_ALG_SUFFIX.get(alg[-3:])
    if digest is None:
        raise InvalidIDToken(code="alg_not_allowed")
    raw = digest(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(raw[: len(raw) // 2]).rstrip(b"=").decode("ascii")


def _verified_claims(
    provider: Provider, token: Any, http: ProviderHTTP | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What every ID token must pass (§3.1.3.7 steps 1-10): signature and algorithm,
    ``iss``, ``aud``/``azp``, ``exp``/``iat``, a ``sub``; the header and the claims."""
    if not isinstance(token, str) or not token:
        raise InvalidIDToken(_("The provider sent no identity token."), code="missing")
    header, claims = verify_signed_token(provider, token, http=http)
    if not provider.check_issuer(claims):
        raise InvalidIDToken(_("The identity token comes from another issuer."), code="iss")
    check_audience(provider, claims)
    check_times(claims)
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise InvalidIDToken(_("The identity token names no subject."), code="sub")
    return header, claims


def validate_id_token(
    provider: Provider,
    token: Any,
    *,
    nonce: str,
    access_token: str | None = None,
    max_age: int | None = None,
    http: ProviderHTTP | None = None,
) -> dict[str, Any]:
    """All of OIDC Core §3.1.3.7 for a code-flow ID token; the validated claims.

    ``max_age``: the one the authorization request carried, checked against ``auth_time``.
    """
    header, claims = _verified_claims(provider, token, http)
    # §3.1.3.7 step 11: the nonce we sent, or a replayed token.
    got = claims.get("nonce")
    if not isinstance(got, str) or not hmac.compare_digest(got.encode(), nonce.encode()):
        raise InvalidIDToken(_("The identity token does not belong to this sign-in."), code="nonce")
    if "at_hash" in claims and access_token:
        expected = token_hash(access_token, header["alg"])
        if not hmac.compare_digest(str(claims["at_hash"]), expected):
            raise InvalidIDToken(
                _("The identity token does not match the access token."), code="at_hash"
            )
    if max_age is not None:
        check_auth_time(claims, max_age)
    return claims


def validate_refreshed_id_token(
    provider: Provider,
    token: Any,
    original_claims: Mapping[str, Any] | None,
    *,
    subject: str | None = None,
    access_token: str | None = None,
    http: ProviderHTTP | None = None,
) -> dict[str, Any]:
    """An ID token from a refresh response (OIDC Core §12.2); the validated claims.

    Validated as the first one was (signature and algorithm, ``iss``, ``aud``/``azp``,
    ``exp``/``iat``, ``at_hash``), and bound to ``original_claims``, those of the ID token
    of the original sign-in (or the last one refreshed from it): the same ``iss``, ``sub``,
    ``aud`` and ``azp``; ``auth_time``, if any, the time of the original authentication;
    ``nonce`` absent or the original one.

    ``subject``: the linked account's subject, which ``sub`` must also equal. With no
    ``original_claims`` (none was stored) it is all that binds the token to the account.
    """
    header, claims = _verified_claims(provider, token, http)
    sub = claims["sub"]
    if subject is not None and sub != subject:
        raise InvalidIDToken(_("The identity token names another person."), code="sub_changed")
    if original_claims is not None:
        _check_same_sign_in(claims, original_claims)
    if "at_hash" in claims and access_token:
        expected = token_hash(access_token, header["alg"])
        if not hmac.compare_digest(str(claims["at_hash"]), expected):
            raise InvalidIDToken(
                _("The identity token does not match the access token."), code="at_hash"
            )
    return claims


def _check_same_sign_in(claims: Mapping[str, Any], original: Mapping[str, Any]) -> None:
    # OIDC Core §12.2: the refreshed token speaks of the same sign-in as the original.
    changed = _("The refreshed identity token does not match the original sign-in.")
    for name in ("iss", "sub"):
        if claims.get(name) != original.get(name):
            raise InvalidIDToken(changed, code=f"{name}_changed")
    if _audiences(claims) != _audiences(original):
        raise InvalidIDToken(changed, code="aud_changed")
    if claims.get("azp") != original.get("azp"):  # absent in both, or the same
        raise InvalidIDToken(changed, code="azp_changed")
    leeway = int(oauthkit_settings.LOGIN["LEEWAY"].total_seconds())
    iat, first_iat = claims.get("iat"), original.get("iat")
    # A token older than the original is a replay, not a new one.
    if jose.is_numeric_date(first_iat) and jose.is_numeric_date(iat) and iat < first_iat - leeway:
        raise InvalidIDToken(changed, code="iat_before_original")
    auth_time = claims.get("auth_time")
    if auth_time is not None:
        first_auth_time = original.get("auth_time")
        if first_auth_time is not None:
            same = jose.is_numeric_date(auth_time) and auth_time == first_auth_time
        else:  # the original authentication came before the original token
            same = jose.is_numeric_date(auth_time) and (
                not jose.is_numeric_date(first_iat) or auth_time <= first_iat + leeway
            )
        if not same:
            raise InvalidIDToken(changed, code="auth_time_changed")
    # Errata set 2: it SHOULD NOT have a nonce; if it has one, the original's.
    nonce = claims.get("nonce")
    if nonce is not None and nonce != original.get("nonce"):
        raise InvalidIDToken(changed, code="nonce_changed")


def _audiences(claims: Mapping[str, Any]) -> frozenset[str] | None:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return frozenset([aud])
    if isinstance(aud, list) and all(isinstance(a, str) for a in aud):
        return frozenset(aud)
    return None
