"""Logging out: locally, at the provider (OIDC RP-Initiated Logout 1.0), and on the
provider's request (OIDC Back-Channel Logout 1.0)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from importlib import import_module
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from oauthkit.conf import oauthkit_settings

from . import crypto
from .accounts import ID_TOKEN_SESSION_KEY, LOGIN_SESSION_KEY
from .errors import LoginError
from .id_token import check_audience, check_times, verify_signed_token
from .models import ProviderSession, UsedLogoutToken
from .providers import ProviderNotFound, get_provider
from .providers.base import Provider

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def log_out(request: HttpRequest) -> str:
    """Log the user out here; return where to send the browser next.

    With LOGIN["RP_LOGOUT"] on and a provider that has an end_session_endpoint, that is the
    provider's logout page, with ``id_token_hint`` and ``post_logout_redirect_uri``
    (RP-Initiated Logout §2).
    """
    slug = request.session.get(LOGIN_SESSION_KEY)
    sealed = request.session.get(ID_TOKEN_SESSION_KEY)
    logout(request)
    target = oauthkit_settings.LOGIN["LOGOUT_REDIRECT_URL"] or "/"
    if not (oauthkit_settings.LOGIN["RP_LOGOUT"] and slug):
        return target
    try:
        provider = get_provider(slug)
        endpoint = provider.endpoint("end_session_endpoint")
    except (ProviderNotFound, LoginError):
        return target
    if not endpoint:
        return target
    params = {
        "client_id": provider.client_id,
        "post_logout_redirect_uri": request.build_absolute_uri(target),
    }
    if sealed:
        with contextlib.suppress(crypto.DecryptionError):
            params["id_token_hint"] = crypto.decrypt(sealed)
    separator = "&" if "?" in endpoint else "?"
    return endpoint + separator + urlencode(params)


def forget_session(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """``user_logged_out`` receiver: a session that ended needs no back-channel record."""
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        ProviderSession.objects.filter(session_key=key).delete()


def validate_logout_token(provider: Provider, token: Any) -> dict[str, Any]:
    """Back-Channel Logout §2.6: signature, iss, aud, iat/exp, events, sub or sid, no nonce."""
    if not isinstance(token, str) or not token:
        raise LoginError(_("No logout token."), code="logout_token_missing")
    header, claims = verify_signed_token(provider, token)
    typ = header.get("typ")
    if typ is not None and str(typ).lower() not in ("logout+jwt", "application/logout+jwt"):
        raise LoginError(_("Not a logout token."), code="logout_token_typ")
    if not provider.check_issuer(claims):
        raise LoginError(_("The logout token comes from another issuer."), code="iss")
    check_audience(provider, claims)
    check_times(claims)
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_EVENT), dict):
        raise LoginError(_("The logout token has no logout event."), code="events")
    sub, sid = claims.get("sub"), claims.get("sid")
    if not (isinstance(sub, str) and sub) and not (isinstance(sid, str) and sid):
        raise LoginError(_("The logout token names no session."), code="sub_or_sid")
    # §2.4: a nonce would make it an ID token, which must never log anyone out.
    if "nonce" in claims:
        raise LoginError(_("Not a logout token."), code="nonce")
    if not isinstance(claims.get("jti"), str) or not claims["jti"]:
        raise LoginError(_("The logout token has no identifier."), code="jti")
    return claims


def receive_logout_token(provider: Provider, token: Any) -> int:
    """Validate a logout token, refuse a replay, end the matching sessions; how many ended."""
    claims = validate_logout_token(provider, token)
    leeway = oauthkit_settings.LOGIN["LEEWAY"]
    expires = datetime.fromtimestamp(claims["exp"], tz=UTC) + leeway
    UsedLogoutToken.objects.filter(expires_at__lt=timezone.now()).delete()
    try:
        with transaction.atomic():
            UsedLogoutToken.objects.create(
                provider=provider.slug, jti=claims["jti"][:255], expires_at=expires
            )
    except IntegrityError:
        raise LoginError(_("This logout token was already used."), code="jti_replayed") from None
    rows = ProviderSession.objects.filter(account__provider=provider.slug)
    if isinstance(claims.get("sub"), str):
        rows = rows.filter(account__subject=claims["sub"])
    if isinstance(claims.get("sid"), str):
        rows = rows.filter(sid=claims["sid"])
    keys = list(rows.values_list("session_key", flat=True))
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in keys:
        store(session_key=key).delete()
    rows.delete()
    return len(keys)
