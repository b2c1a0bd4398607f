"""Checks of the OpenID Connect authorization request parameters (Core §3.1.2.1), of
``response_type`` (RFC 6749 §3.1.1, OAuth 2.0 Multiple Response Type Encoding Practices)
and of ``response_mode`` (Form Post Response Mode); used by ``authorization``."""

from __future__ import annotations

from urllib.parse import urlsplit

from .. import jose
from ..conf import oauthkit_settings
from .errors import InvalidRequest
from .keys import key_ring

#: Response modes of the code flow. ``fragment`` is refused: it is meant for front-channel
#: token responses (OAuth 2.0 Multiple Response Type Encoding Practices §2.1), and a code
#: in the fragment stays readable by every script of the client's page for no benefit.
RESPONSE_MODES = ("query", "form_post")
#: Response modes of the implicit and hybrid response types: never ``query``, which would
#: put tokens in server logs and Referer headers (Multiple Response Types §5).
FRONT_CHANNEL_RESPONSE_MODES = ("fragment", "form_post")

CODE = frozenset({"code"})
#: Implicit (OIDC Core §3.2, RFC 6749 §4.2) and hybrid (Core §3.3) response types, offered
#: only while ALLOW_IMPLICIT_FLOW is on (RFC 9700 §2.1.2).
FRONT_CHANNEL_RESPONSE_TYPES = (
    "token",
    "id_token",
    "id_token token",
    "code id_token",
    "code token",
    "code id_token token",
)
_FRONT_CHANNEL_SETS = frozenset(frozenset(t.split()) for t in FRONT_CHANNEL_RESPONSE_TYPES)


def parse_response_type(value: str | None) -> frozenset[str] | None:
    """The set of values of a ``response_type`` (their order does not matter, RFC 6749
    §3.1.1), or None when it is empty, repeats a value or has stray spaces."""
    values = (value or "").split(" ")
    if not value or "" in values or len(set(values)) != len(values):
        return None
    return frozenset(values)


def is_supported_response_type(types: frozenset[str] | None) -> bool:
    if types == CODE:
        return True
    return oauthkit_settings.ALLOW_IMPLICIT_FLOW and types in _FRONT_CHANNEL_SETS


def is_front_channel(types: frozenset[str] | None) -> bool:
    """A supported response type that returns a token in the redirect (implicit, hybrid)."""
    return types != CODE and is_supported_response_type(types)


def response_types_supported() -> list[str]:
    """For discovery: what ``is_supported_response_type`` accepts now."""
    legacy = list(FRONT_CHANNEL_RESPONSE_TYPES) if oauthkit_settings.ALLOW_IMPLICIT_FLOW else []
    return ["code", *legacy]


def response_modes_supported() -> list[str]:
    """For discovery: ``fragment`` only while front-channel response types are offered."""
    legacy = ["fragment"] if oauthkit_settings.ALLOW_IMPLICIT_FLOW else []
    return [*RESPONSE_MODES, *legacy]


#: The longest ``nonce`` accepted; it is echoed in every ID token of the grant.
NONCE_MAX_LENGTH = 512

#: ``prompt`` values that send the user to the login page even when signed in.
LOGIN_PROMPTS = ("login", "select_account")


def is_web_uri(uri: str) -> bool:
    return urlsplit(uri).scheme in ("http", "https")


def check_response_mode(mode: str, redirect_uri: str, *, front_channel: bool = False) -> None:
    """``front_channel``: the response type returns a token (``is_front_channel``)."""
    if front_channel and mode == "query":
        # Multiple Response Types §5, OIDC Core §3.2.2.5: tokens never go in the query.
        raise InvalidRequest("response_mode=query cannot carry tokens; use fragment or form_post.")
    if mode == "fragment" and not front_channel:
        raise InvalidRequest(
            "response_mode=fragment is not supported with response_type=code; "
            "use query or form_post."
        )
    if mode not in (FRONT_CHANNEL_RESPONSE_MODES if front_channel else RESPONSE_MODES):
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
