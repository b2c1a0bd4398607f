"""Ending provider sessions: RP-initiated logout requests, which clients a session signed
in to, and the logout tokens that tell them it ended.

- RP-Initiated Logout 1.0 §2-§3: ``LogoutRequest`` checks the end-session request
  (``id_token_hint``, ``client_id``, ``post_logout_redirect_uri``, ``state``,
  ``ui_locales``); the endpoint decides whether to ask the user first.
- Back-Channel Logout 1.0 §2.4-§2.6: each ID token issued in a provider session (``sid``)
  to a client with a ``backchannel_logout_uri`` is recorded (``record_id_token``); when
  the session ends, by any view that calls ``django.contrib.auth.logout``, each of those
  clients gets a signed logout token (``end_provider_session``, ``backchannel.deliver``).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext as _

from .. import jose
from ._oidc_parameters import id_token_audience, id_token_hint_claims
from .adapter import get_adapter
from .backchannel import Delivery, deliver
from .errors import FatalAuthorizationError, InvalidRequest
from .issuer import get_issuer
from .keys import key_ring
from .models import Client, LogoutSession, RefreshToken
from .sessions import session_id

logger = logging.getLogger("oauthkit.backchannel")

#: The ``events`` member of every logout token (Back-Channel Logout §2.4).
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: The ``typ`` header of logout tokens (Back-Channel Logout §2.4, explicit typing).
LOGOUT_TOKEN_TYPE = "logout+jwt"
#: Seconds a logout token is valid: it is delivered at once, or not at all.
LOGOUT_TOKEN_LIFETIME = 120

#: The parameters of an end-session request (RP-Initiated Logout §2).
LOGOUT_PARAMETERS = (
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
    "logout_hint",
)


@dataclass
class LogoutRequest:
    """A checked end-session request. Loading it raises ``FatalAuthorizationError`` (an
    error page, never a redirect) for anything that cannot be trusted."""

    params: dict[str, str]
    client: Client | None = None
    #: The claims of a verified ``id_token_hint``.
    hint: dict | None = None
    #: A ``post_logout_redirect_uri`` registered for ``client``.
    redirect_uri: str | None = None

    @classmethod
    def load(cls, params: QueryDict, *, issuer: str) -> LogoutRequest:
        values = {}
        for name in LOGOUT_PARAMETERS:
            if len(params.getlist(name)) > 1:
                raise FatalAuthorizationError(
                    _("The %(name)s parameter is repeated.") % {"name": name}
                )
            value = params.get(name)
            if value:
                if "\x00" in value:
                    raise FatalAuthorizationError(
                        _("The %(name)s parameter is invalid.") % {"name": name}
                    )
                values[name] = value
        request = cls(params=values)
        request.check_hint(issuer)
        request.load_client()
        request.check_redirect_uri()
        return request

    def check_hint(self, issuer: str) -> None:
        # §2: the OP MUST validate that it was the issuer of the ID token.
        if "id_token_hint" in self.params:
            try:
                self.hint = id_token_hint_claims(self.params["id_token_hint"], issuer=issuer)
            except InvalidRequest:
                raise FatalAuthorizationError(
                    _("The id_token_hint is not a valid ID token from this server.")
                ) from None

    def load_client(self) -> None:
        client_id = self.params.get("client_id")
        if client_id:
            self.client = Client.objects.filter(client_id=client_id, is_active=True).first()
            if self.client is None:
                raise FatalAuthorizationError(_("The application is not registered here."))
            # §2: client_id must be the one the ID token was issued to.
            if self.hint is not None and client_id not in id_token_audience(self.hint):
                raise FatalAuthorizationError(
                    _("The id_token_hint was not issued to this application.")
                )
        elif self.hint is not None:
            audience = self.hint.get("azp") or id_token_audience(self.hint)[0]
            if isinstance(audience, str):
                self.client = Client.objects.filter(client_id=audience, is_active=True).first()

    def check_redirect_uri(self) -> None:
        uri = self.params.get("post_logout_redirect_uri")
        if uri is None:
            return
        # §3.1: only to a URI registered for a client the request names; exact match.
        if self.client is None:
            raise FatalAuthorizationError(
                _("A post_logout_redirect_uri needs a client_id or an id_token_hint.")
            )
        if uri not in (self.client.post_logout_redirect_uris or []):
            raise FatalAuthorizationError(
                _("The post-logout redirect URI is not registered for this application.")
            )
        self.redirect_uri = uri

    @property
    def ui_locales(self) -> list[str]:
        return self.params.get("ui_locales", "").split()

    def names_user(self, user) -> bool:
        """The hint proves the request comes from the client on behalf of ``user``: its
        ``sub`` is the one its client knows ``user`` by (pairwise or public)."""
        if self.hint is None or self.client is None:
            return False
        return self.hint["sub"] == get_adapter().get_client_subject(user, self.client)

    def redirect_location(self) -> str:
        """``post_logout_redirect_uri`` with ``state`` added to its query (§3)."""
        assert self.redirect_uri is not None
        parts = urlsplit(self.redirect_uri)
        if "state" not in self.params:
            return self.redirect_uri
        state = urlencode({"state": self.params["state"]})
        query = f"{parts.query}&{state}" if parts.query else state
        return urlunsplit(parts._replace(query=query))


# --- Back-channel logout --------------------------------------------------------------------


def record_id_token(*, sid: str | None, user, client: Client) -> None:
    """Remember that ``client`` received an ID token in provider session ``sid``.

    Only for clients with a ``backchannel_logout_uri``, since nothing else reads these
    rows: other token requests pay no write. One statement, idempotent.
    """
    if not sid or user is None or not client.backchannel_logout_uri:
        return
    LogoutSession.objects.bulk_create(
        [LogoutSession(sid=sid, user=user, client=client)], ignore_conflicts=True
    )


def logout_token(*, client: Client, user, sid: str, issuer: str) -> str:
    """A logout token for ``client`` (Back-Channel Logout §2.4): signed like its ID tokens,
    with ``sub`` and ``sid``, never a ``nonce``."""
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_LIFETIME,
        "jti": secrets.token_urlsafe(18),
        "events": {LOGOUT_EVENT: {}},
        "sub": get_adapter().get_client_subject(user, client),
        "sid": sid,
    }
    key = key_ring.signing_key_for(client.id_token_signed_response_alg)
    return jose.sign(claims, key, typ=LOGOUT_TOKEN_TYPE)


def notify_clients(*, sid: str, user, issuer: str) -> list[threading.Thread]:
    """Send a logout token to every client that received an ID token in ``sid``, then
    forget the session; return the delivery threads."""
    records = list(LogoutSession.objects.filter(sid=sid, user=user).select_related("client"))
    if not records:
        return []
    deliveries = []
    for record in records:
        client = record.client
        if not client.is_active or not client.backchannel_logout_uri:
            continue
        try:
            token = logout_token(client=client, user=user, sid=sid, issuer=issuer)
        except (ImproperlyConfigured, jose.JOSEError):
            # The user's logout goes on; only this client is not told.
            logger.exception("No logout token could be signed for client %s.", client.client_id)
            continue
        deliveries.append(Delivery(client.client_id, client.backchannel_logout_uri, token))
    LogoutSession.objects.filter(pk__in=[r.pk for r in records]).delete()
    return deliver(deliveries)


def end_provider_session(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """``user_logged_out`` receiver: the provider session ends, tell its clients.

    Sent before the session is flushed, so its ``sid`` is still readable. Tokens go out
    even if the request's transaction later rolls back: the user is logged out either way.
    """
    if request is None or user is None:
        return
    sid = session_id(request)
    if sid:
        revoke_session_refresh_tokens(sid=sid, user=user)
        notify_clients(sid=sid, user=user, issuer=get_issuer(request))


def revoke_session_refresh_tokens(*, sid: str, user) -> int:
    """Back-Channel Logout §2.7: the ended session's OpenID Connect refresh tokens that
    were not granted for offline use (``offline_access``) are revoked. Plain OAuth refresh
    tokens (no ``openid``) are API access that outlives the browser session, and stay."""
    tokens = RefreshToken.objects.filter(sid=sid, user=user, revoked_at__isnull=True)
    online = [
        t.pk
        for t in tokens.only("pk", "scope")
        if "openid" in t.scopes and "offline_access" not in t.scopes
    ]
    return RefreshToken.objects.filter(pk__in=online).revoke()
