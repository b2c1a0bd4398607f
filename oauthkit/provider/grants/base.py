"""The grant interface and the registry that maps ``grant_type`` to a grant class."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from django.dispatch import Signal
from django.http import HttpRequest, QueryDict
from django.views.decorators.debug import sensitive_variables

from ...conf import oauthkit_settings, settings_reloaded
from ..errors import InvalidTarget
from ..events import reuse_detected, revoke_grant, token_issued
from ..id_tokens import issue_id_token
from ..logout import record_id_token
from ..models import Client
from ..resources import check_resource, requested_resource
from ..tokens import TokenResponse, issue_access_token, issue_refresh_token


class Grant:
    """One grant type of the token endpoint (RFC 6749 §4).

    The token endpoint authenticates the client, checks that it may use this grant,
    then calls ``handle()`` inside a transaction. ``handle`` validates everything
    before it writes anything, and raises an ``OAuthError`` on failure, which rolls
    the transaction back. Writes that must survive the failure (revoking a replayed
    code's tokens) go in ``on_failure``, which runs in a transaction of its own.
    """

    grant_type: ClassVar[str]
    #: Whether public clients (method ``none``) may use this grant.
    allows_public_clients: ClassVar[bool] = True
    #: Sent when a single-use credential of this grant is presented again.
    reuse_signal: ClassVar[Signal | None] = None
    #: That credential's name in logs; the ``token_revoked`` reason is it + "_reused".
    credential: ClassVar[str] = ""

    #: Set by ``handle`` to the code or refresh token that was presented again.
    replayed = None

    @classmethod
    def enabled(cls) -> bool:
        """Whether the site offers this grant now; a disabled grant is left out of the
        registry (``unsupported_grant_type``, not in discovery). Legacy grants override it."""
        return True

    def __init__(self, request: HttpRequest, client: Client, params: QueryDict, issuer: str):
        self.request = request
        self.client = client
        self.params = params
        self.issuer = issuer

    def handle(self) -> TokenResponse:
        raise NotImplementedError

    def requested_resource(self) -> str | None:
        """The request's ``resource``, checked against this client (RFC 8707 §2), or None."""
        return requested_resource(self.params, self.client, issuer=self.issuer)

    def audience_of(self, named: str, first_request: str) -> str | None:
        """The resource of tokens redeemed from an earlier request (an authorization or device
        request): ``named`` there, which this request may repeat or omit, else one named here
        (RFC 8707 §2)."""
        requested = self.requested_resource()
        if not named:
            return requested
        if requested is not None and requested != named:
            raise InvalidTarget(f"resource differs from the one of the {first_request}.")
        # Checked again: the client's allowed resources may have changed since.
        return check_resource(self.client, named, issuer=self.issuer)

    def on_failure(self, error: Exception) -> None:
        """Security writes that must persist although ``handle`` failed: a replayed
        code or refresh token revokes every token of its grant (RFC 6749 §4.1.2,
        RFC 9700 §4.14.2)."""
        record = self.replayed
        if record is None:
            return
        reuse_detected(
            self.reuse_signal,
            request=self.request,
            client=self.client,
            user=record.user,
            grant_id=record.grant_id,
            what=self.credential.replace("_", " "),
        )
        revoke_grant(self.client, record.grant_id, reason=f"{self.credential}_reused")

    # The new tokens, here and in the functions below (issue_id_token's ``access_token``,
    # token_hash's ``value``): hidden in Django's error reports.
    @sensitive_variables("raw", "refresh_raw", "id_token", "access_token", "value")
    def issue(
        self,
        *,
        user,
        scopes: list[str],
        grant_id: uuid.UUID,
        auth_time: datetime | None = None,
        refresh_scopes: list[str] | None = None,
        audience: str | None = None,
        claims: dict | None = None,
        nonce: str | None = None,
        sid: str | None = None,
        bound_resource: str = "",
    ) -> TokenResponse:
        """Issue an access token, a refresh token when ``refresh_scopes`` is given, and an
        ID token when ``openid`` is granted to a user (OpenID Connect Core §3.1.3.3).

        ``audience`` is a checked resource (RFC 8707); None gives the default audience.
        ``claims`` is the grant's OpenID Connect claims request, kept on every token.
        ``sid`` is the provider session the grant began in (Back-Channel Logout §2.1).
        ``bound_resource`` is the resource the grant was authorized for, which its refresh
        token keeps (RFC 8707 §2.2); "" when none was named.
        """
        raw, access = issue_access_token(
            client=self.client,
            user=user,
            scopes=scopes,
            grant_id=grant_id,
            issuer=self.issuer,
            auth_time=auth_time,
            audience=audience,
            claims=claims,
        )
        refresh_raw = refresh = None
        if refresh_scopes is not None:
            refresh_raw, refresh = issue_refresh_token(
                client=self.client,
                user=user,
                scopes=refresh_scopes,
                grant_id=grant_id,
                auth_time=auth_time,
                claims=claims,
                sid=sid,
                resource=bound_resource,
            )
        id_token = None
        if user is not None and "openid" in scopes:
            id_token = issue_id_token(
                client=self.client,
                user=user,
                issuer=self.issuer,
                scopes=scopes,
                access_token=raw,
                nonce=nonce,
                auth_time=auth_time,
                claims_request=claims,
                sid=sid,
            )
            record_id_token(sid=sid, user=user, client=self.client)
        token_issued(
            request=self.request,
            client=self.client,
            user=user,
            grant_type=self.grant_type,
            access_token=access,
            refresh_token=refresh,
        )
        return TokenResponse(
            access_token=raw,
            expires_in=int((access.expires_at - access.created).total_seconds()),
            scope=scopes,
            refresh_token=refresh_raw,
            id_token=id_token,
        )


_registry: dict[str, type[Grant]] | None = None


def grant_registry() -> dict[str, type[Grant]]:
    """``grant_type`` -> grant class, from ``GRANT_TYPES``; rebuilt when settings change."""
    global _registry
    if _registry is None:
        _registry = {cls.grant_type: cls for cls in oauthkit_settings.GRANT_TYPES if cls.enabled()}
    return _registry


def client_grant_types() -> list[str]:
    """What a client's ``grant_types`` may hold here: the enabled token endpoint grants,
    and "implicit" (a front-channel flow, not a token endpoint grant) while the implicit
    flow is allowed (RFC 9700 §2.1.2)."""
    names = list(grant_registry())
    if oauthkit_settings.ALLOW_IMPLICIT_FLOW:
        names.append("implicit")
    return names


def _clear_registry(**kwargs) -> None:
    global _registry
    _registry = None


settings_reloaded.connect(_clear_registry)
