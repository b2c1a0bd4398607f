"""Proof Key for Code Exchange (RFC 7636)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from ..conf import oauthkit_settings
from .errors import InvalidGrant, InvalidRequest

# RFC 7636 §4.1 (verifier) and §4.2 (challenge): 43-128 unreserved characters.
_UNRESERVED_43_128 = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def supported_methods() -> list[str]:
    """The code_challenge_methods this server accepts, strongest first."""
    return ["S256", "plain"] if oauthkit_settings.ALLOW_PLAIN_PKCE else ["S256"]


def check_code_challenge(challenge: str | None, method: str | None, *, required: bool) -> None:
    """Validate the authorization request's PKCE parameters (RFC 7636 §4.3)."""
    if not challenge:
        if method:
            raise InvalidRequest("code_challenge_method was sent without code_challenge.")
        if required:
            raise InvalidRequest("code_challenge is required (PKCE).")
        return
    method = method or "plain"  # RFC 7636 §4.3: the default is plain.
    if method not in supported_methods():
        raise InvalidRequest(f"code_challenge_method {method} is not supported; use S256.")
    if not _UNRESERVED_43_128.match(challenge):
        raise InvalidRequest("code_challenge is malformed.")


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify_pkce(verifier: str | None, challenge: str, method: str) -> None:
    """Check a token request's code_verifier against the stored challenge (RFC 7636 §4.6)."""
    if not challenge:
        # A verifier without a challenge is a downgrade attempt (RFC 9700 §2.1.1).
        if verifier:
            raise InvalidGrant("code_verifier was sent but no code_challenge was.")
        return
    if not verifier:
        raise InvalidGrant("code_verifier is required.")
    if not _UNRESERVED_43_128.match(verifier):
        raise InvalidGrant("code_verifier is malformed.")
    expected = s256(verifier) if method == "S256" else verifier
    if not hmac.compare_digest(expected.encode(), challenge.encode()):
        raise InvalidGrant("code_verifier does not match the code_challenge.")
