"""OpenID Connect claims: which claims each scope releases (Core §5.4), the ``claims``
request parameter (Core §5.5), and the values, which come from the adapter."""

from __future__ import annotations

import json
from typing import Any

from .adapter import get_adapter
from .errors import InvalidRequest

#: OIDC Core §5.4: the claims each scope value requests.
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (
        "name",
        "family_name",
        "given_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "updated_at",
    ),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "phone": ("phone_number", "phone_number_verified"),
}

#: Claims of the ID token itself, always supported.
ID_TOKEN_CLAIMS = (
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "azp",
    "at_hash",
    "sid",
)


def parse_claims_request(value: str | None) -> dict[str, Any] | None:
    """The ``claims`` parameter as a dict with optional ``userinfo`` and ``id_token``
    members, each mapping claim names to null or an object (Core §5.5)."""
    if value is None or value == "":
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        raise InvalidRequest("The claims parameter is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise InvalidRequest("The claims parameter must be a JSON object.")
    result = {}
    for member in ("userinfo", "id_token"):
        requested = parsed.get(member)
        if requested is None:
            continue
        if not isinstance(requested, dict) or not all(
            isinstance(v, dict) or v is None for v in requested.values()
        ):
            raise InvalidRequest(f"claims.{member} must map claim names to null or objects.")
        result[member] = requested
    return result or None


#: Every claim a standard scope releases; a claim outside it is a site's own.
STANDARD_CLAIMS = frozenset(name for names in SCOPE_CLAIMS.values() for name in names)


def requested_claim_names(scopes: list[str], claims_request: dict | None, target: str) -> list[str]:
    """Claim names to release to ``target`` ("userinfo" or "id_token").

    Scope claims go to the UserInfo response (Core §5.4: an access token is issued in the
    code flow); individually requested claims go where the request asked, but a standard
    claim only when the user granted its scope: the consent page asks for scopes, so the
    ``claims`` parameter places and marks claims, it never widens what was granted. The
    adapter's own claims (``supported_claims`` beyond the standard ones) go to UserInfo
    too: its ``get_claims`` decides from ``scopes`` whether to return them.
    """
    names: list[str] = []
    if target == "userinfo":
        for scope in scopes:
            names.extend(SCOPE_CLAIMS.get(scope, ()))
        names.extend(n for n in get_adapter().supported_claims() if n not in STANDARD_CLAIMS)
    granted = {c for scope in scopes for c in SCOPE_CLAIMS.get(scope, ())}
    names.extend(
        n
        for n in (claims_request or {}).get(target, {})
        if n not in STANDARD_CLAIMS or n in granted
    )
    return list(dict.fromkeys(n for n in names if n not in ID_TOKEN_CLAIMS))


def user_claims(user, names: list[str], *, client, scopes: list[str]) -> dict[str, Any]:
    """The values the adapter has for ``names``; claims without a value are left out
    (Core §5.3.2)."""
    if not names:
        return {}
    values = get_adapter().get_claims(user, names, client=client, scopes=scopes)
    return {k: v for k, v in values.items() if k in names and v not in (None, "")}


def claims_supported() -> list[str]:
    """For discovery: the ID token claims and every claim the adapter can supply."""
    return list(dict.fromkeys([*ID_TOKEN_CLAIMS, *get_adapter().supported_claims()]))
