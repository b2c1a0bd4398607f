"""ID tokens (OpenID Connect Core §2, §3.1.3.6, §12.2)."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

from django.utils import timezone

from .. import jose
from ..conf import oauthkit_settings
from .adapter import get_adapter
from .claims import SCOPE_CLAIMS, requested_claim_names, user_claims
from .keys import key_ring
from .models import Client

#: Hash of at_hash by signing algorithm (Core §3.1.3.6; EdDSA with Ed25519 uses SHA-512).
_HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def token_hash(value: str, algorithm: str) -> str:
    """Left half of the hash of ``value``, base64url (``at_hash``, ``c_hash``)."""
    digest_fn = hashlib.sha512 if algorithm == "EdDSA" else _HASHES[algorithm[-3:]]
    digest = digest_fn(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def issue_id_token(
    *,
    client: Client,
    user,
    issuer: str,
    scopes: list[str],
    access_token: str | None = None,
    nonce: str | None = None,
    auth_time: datetime | None = None,
    claims_request: dict | None = None,
    sid: str | None = None,
    code: str | None = None,
    scope_claims: bool = False,
) -> str:
    """A signed ID token for ``user`` and ``client``, with the client's algorithm.

    ``code``: the authorization code returned with it (hybrid flow), hashed into
    ``c_hash`` (Core §3.3.2.11). ``scope_claims``: put the claims of the profile, email ...
    scopes in the token itself, for ``response_type=id_token`` where no access token
    reaches UserInfo (Core §5.4).
    """
    algorithm = client.id_token_signed_response_alg
    key = key_ring.signing_key_for(algorithm)
    now = timezone.now()
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": get_adapter().get_client_subject(user, client),
        "aud": client.client_id,
        "exp": int((now + oauthkit_settings.ID_TOKEN_LIFETIME).timestamp()),
        "iat": int(now.timestamp()),
        "azp": client.client_id,
    }
    if auth_time is not None:
        claims["auth_time"] = int(auth_time.timestamp())
    if nonce:
        claims["nonce"] = nonce  # echoed exactly (Core §3.1.3.7 step 11)
    if access_token:
        claims["at_hash"] = token_hash(access_token, algorithm)
    if code:
        claims["c_hash"] = token_hash(code, algorithm)
    if sid:
        claims["sid"] = sid
    names = requested_claim_names(scopes, claims_request, "id_token")
    if scope_claims:
        by_scope = [c for scope in scopes for c in SCOPE_CLAIMS.get(scope, ())]
        names = list(dict.fromkeys([*by_scope, *names]))
    claims.update(user_claims(user, names, client=client, scopes=scopes))
    return jose.sign(claims, key, typ="JWT")
