"""Checks of the OpenID Connect authorization request parameters (Core §3.1.2.1) and of
``response_mode`` (OAuth 2.0 Form Post Response Mode); used by ``authorization``."""

from __future__ import annotations

from urllib.parse import urlsplit

from .. import jose
from .errors import InvalidRequest
from .keys import key_ring

#: Response modes of the code flow. ``fragment`` is refused: it is meant for front-channel
#: token responses (OAuth 2.0 Multiple Response Type Encoding Practices §2.1), and a code
#: in the fragment stays readable by every script of the client's page for no benefit.
RESPONSE_MODES = ("query", "form_post")

#: The longest ``nonce`` accepted; it is echoed in every ID token of the grant.
NONCE_MAX_LENGTH = 512

#: ``prompt`` values that send the user to the login page even when signed in.
LOGIN_PROMPTS = ("login", "select_account")


def is_web_uri(uri: str) -> bool:
    return urlsplit(uri).scheme in ("http", "https")


def check_response_mode(mode: str, redirect_uri: str) -> None:
    if mode == "fragment":
        raise InvalidRequest(
            "response_mode=fragment is not supported with response_type=code; "
            "use query or form_post."
        )
    if mode not in RESPONSE_MODES:
        raise InvalidRequest(f"Unsupported response_mode: {mode}.")
    if mode == "form_post" and not is_web_uri(redirect_uri):
        # The page posts a form to the redirect URI: only to a web address.
        raise InvalidRequest("response_mode=form_post needs an http or https redirect_uri.")


def check_prompt(prompt: set[str]) -> None:
    # Core §3.1.2.1: `none` with any other value is an error; unknown values are ignored.
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values.")


def parse_max_age(value: str | None) -> int | None:
    """Seconds, as a plain non-negative integer (Core §3.1.2.1)."""
    if value is None:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise InvalidRequest("max_age must be a non-negative integer.")
    return int(value)


def check_nonce(nonce: str) -> None:
    if len(nonce) > NONCE_MAX_LENGTH:
        raise InvalidRequest(f"nonce is longer than {NONCE_MAX_LENGTH} characters.")


def id_token_hint_claims(token: str, *, issuer: str) -> dict:
    """The claims of an ID token this server issued, signature checked, with a ``sub``.

    Expired tokens are accepted (Core §3.1.2.1: the hint names a user, it grants nothing;
    RP-Initiated Logout §2 expects hints to have expired).
    """
    try:
        kid = jose.unverified_header(token).get("kid")
        header, claims = jose.verify(
            token,
            key_ring.verification_keys(kid if isinstance(kid, str) else None),
            algs=jose.SUPPORTED_ALGORITHMS,
        )
    except jose.JOSEError:
        raise InvalidRequest("id_token_hint is not a valid ID token from this server.") from None
    sub = claims.get("sub")
    if (
        # Access tokens (at+jwt) and logout tokens share the keys; ID tokens have no
        # typ or "JWT".
        str(header.get("typ", "JWT")).upper() != "JWT"
        or claims.get("iss") != issuer
        or not isinstance(sub, str)
        or not sub
    ):
        raise InvalidRequest("id_token_hint is not an ID token from this server.")
    return claims


def id_token_audience(claims: dict) -> list:
    aud = claims.get("aud")
    return aud if isinstance(aud, list) else [aud]


def id_token_hint_subject(token: str, *, client_id: str, issuer: str) -> str:
    """The ``sub`` of an ID token this server issued to ``client_id`` (expired or not)."""
    claims = id_token_hint_claims(token, issuer=issuer)
    if client_id not in id_token_audience(claims):
        raise InvalidRequest("id_token_hint was not issued to this client.")
    return claims["sub"]


def resume_params(params: dict[str, str]) -> dict[str, str]:
    """``params`` without ``prompt=login``, ``prompt=select_account`` and ``max_age``:
    the sign-in they ask for is the one about to happen, and keeping them would send the
    user back to the login page forever."""
    resumed = {k: v for k, v in params.items() if k not in ("max_age", "prompt")}
    prompt = " ".join(p for p in params.get("prompt", "").split() if p not in LOGIN_PROMPTS)
    if prompt:
        resumed["prompt"] = prompt
    return resumed
