"""Reporting events: one place that sends the signal and writes the log line.

Log lines name clients, users and grant ids, never a token or secret value.
"""

from __future__ import annotations

import logging
import uuid

from django.utils import timezone

from . import signals
from .models import AccessToken, AuthorizationCode, RefreshToken

logger = logging.getLogger("oauthkit.provider")


def token_issued(*, request, client, user, grant_type, access_token, refresh_token=None) -> None:
    logger.info(
        "token issued: client=%s user=%s grant_type=%s jti=%s",
        client.client_id,
        getattr(user, "pk", None),
        grant_type,
        access_token.jti,
    )
    signals.token_issued.send(
        sender=client.__class__,
        client=client,
        user=user,
        grant_type=grant_type,
        access_token=access_token,
        refresh_token=refresh_token,
        request=request,
    )


def revoke_grant(client, grant_id: uuid.UUID, *, reason: str) -> int:
    """Revoke every code, access and refresh token descending from one authorization."""
    count = AccessToken.objects.filter(grant_id=grant_id).revoke()
    count += RefreshToken.objects.filter(grant_id=grant_id).revoke()
    # Unused codes of the grant can no longer be redeemed either.
    AuthorizationCode.objects.filter(grant_id=grant_id, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    tokens_revoked(client=client, grant_id=grant_id, reason=reason, count=count)
    return count


def tokens_revoked(*, client, grant_id, reason: str, count: int) -> None:
    logger.info(
        "tokens revoked: client=%s grant=%s reason=%s count=%d",
        client.client_id,
        grant_id,
        reason,
        count,
    )
    signals.token_revoked.send(
        sender=client.__class__, client=client, grant_id=grant_id, reason=reason, count=count
    )


def reuse_detected(signal, *, request, client, user, grant_id, what: str) -> None:
    logger.warning(
        "%s reused: client=%s user=%s grant=%s; the grant is revoked",
        what,
        client.client_id,
        getattr(user, "pk", None),
        grant_id,
    )
    signal.send(
        sender=client.__class__, client=client, user=user, grant_id=grant_id, request=request
    )


def consent_given(granted: bool, *, request, client, user, scopes) -> None:
    logger.info(
        "consent %s: client=%s user=%s scope=%s",
        "granted" if granted else "denied",
        client.client_id,
        user.pk,
        " ".join(scopes),
    )
    signal = signals.consent_granted if granted else signals.consent_denied
    signal.send(sender=client.__class__, client=client, user=user, scopes=scopes, request=request)
