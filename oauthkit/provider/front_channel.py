"""Tokens returned from the authorization endpoint: the implicit and hybrid response types
(RFC 6749 §4.2.2; OIDC Core §3.2.2.5, §3.3.2.5), behind ``ALLOW_IMPLICIT_FLOW``.

The code, the access token and the ID token of one response share a ``grant_id``, so a
replayed code revokes the tokens that came with it. A front-channel access token never
comes with a refresh token (RFC 6749 §4.2.2).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.http import HttpRequest

from .authorization import AuthorizationRequest
from .events import token_issued
from .id_tokens import issue_id_token
from .logout import record_id_token
from .scopes import format_scope, parse_scope
from .tokens import issue_access_token

#: The ``grant_type`` reported by ``token_issued`` for front-channel access tokens.
IMPLICIT = "implicit"


def front_channel_response(
    authz: AuthorizationRequest,
    *,
    request: HttpRequest,
    user,
    auth_time: datetime | None,
    sid: str | None,
    issuer: str,
) -> dict[str, str]:
    """Issue what ``authz.response_types`` asks for; returns the response parameters
    (without ``state`` and ``iss``, which the endpoint adds)."""
    types = authz.response_types
    grant_id = uuid.uuid4()
    values: dict[str, str] = {}
    code = access_token = None
    if "code" in types:
        code = values["code"] = authz.issue_code(user, auth_time, sid=sid, grant_id=grant_id)
    if "token" in types:
        access_token = access_token_values(
            authz,
            values,
            request=request,
            user=user,
            auth_time=auth_time,
            issuer=issuer,
            grant_id=grant_id,
        )
    if "id_token" in types:
        values["id_token"] = issue_id_token(
            client=authz.client,
            user=user,
            issuer=issuer,
            scopes=authz.scopes,
            # Core §3.3.2.11: at_hash and c_hash bind the ID token to what came with it.
            access_token=access_token,
            code=code,
            nonce=authz.params.get("nonce"),
            auth_time=auth_time,
            claims_request=authz.claims_request,
            sid=sid,
            # Core §5.4: with response_type=id_token no access token reaches UserInfo.
            scope_claims=types == {"id_token"},
        )
        record_id_token(sid=sid, user=user, client=authz.client)
    return values


def access_token_values(
    authz: AuthorizationRequest,
    values: dict[str, str],
    *,
    request: HttpRequest,
    user,
    auth_time: datetime | None,
    issuer: str,
    grant_id: uuid.UUID,
) -> str:
    """Issue the access token and add RFC 6749 §4.2.2's parameters to ``values``."""
    raw, row = issue_access_token(
        client=authz.client,
        user=user,
        scopes=authz.scopes,
        grant_id=grant_id,
        issuer=issuer,
        auth_time=auth_time,
        audience=authz.resource,
        claims=authz.claims_request,
    )
    values["access_token"] = raw
    values["token_type"] = "Bearer"
    values["expires_in"] = str(int((row.expires_at - row.created).total_seconds()))
    # RFC 6749 §4.2.2: scope is required when it differs from the request (partial
    # consent, or the client's default scopes when none was requested).
    if set(authz.scopes) != set(parse_scope(authz.params.get("scope"))):
        values["scope"] = format_scope(authz.scopes)
    token_issued(
        request=request, client=authz.client, user=user, grant_type=IMPLICIT, access_token=row
    )
    return raw
