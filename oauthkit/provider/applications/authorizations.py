"""The clients a user has authorized, and taking an authorization back.

A client counts as authorized while it holds anything live for the user: a consent that
is neither revoked nor expired, or an unrevoked, unexpired access or refresh token.
Listing costs a fixed number of queries whatever the number of clients or tokens.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from ..models import (
    AccessToken,
    AuthorizationCode,
    Client,
    Consent,
    DeviceAuthorization,
    RefreshToken,
)
from ..receivers import revoke_tokens
from ..scopes import describe, known_scopes

logger = logging.getLogger("oauthkit.provider")


@dataclass
class AuthorizedClient:
    """One client as the "Authorized applications" page shows it."""

    client: Client
    scope_names: set[str] = field(default_factory=set)
    first_authorized: datetime | None = None
    #: When the client last obtained a token for the user (the newest token's ``created``).
    last_used: datetime | None = None
    #: The logo to show, if the page may load it (set by the view).
    logo_uri: str = ""

    @property
    def scopes(self) -> list[tuple[str, str]]:
        """(name, description) pairs, in the order of ``SCOPES``, unknown ones last."""
        order = {name: i for i, name in enumerate(known_scopes())}
        names = sorted(self.scope_names, key=lambda s: (order.get(s, len(order)), s))
        return describe(names)

    def add(self, scope: str, first: datetime, last: datetime | None) -> None:
        self.scope_names.update(scope.split())
        if self.first_authorized is None or first < self.first_authorized:
            self.first_authorized = first
        if last is not None and (self.last_used is None or last > self.last_used):
            self.last_used = last


def authorized_clients(user) -> list[AuthorizedClient]:
    """Every client holding a live consent or token for ``user``, by name (3 or 4 queries)."""
    now = timezone.now()
    found: dict[int, AuthorizedClient] = {}
    consents = Consent.objects.filter(
        user=user, revoked_at__isnull=True, expires_at__gt=now
    ).select_related("client")
    for consent in consents:
        found[consent.client_id] = AuthorizedClient(consent.client)
        found[consent.client_id].add(consent.scope, consent.created, None)
    # One row per (client, scope) pair, however many tokens share it.
    token_rows = [
        *_token_summary(AccessToken.objects.active().filter(user=user)),
        *_token_summary(RefreshToken.objects.active().filter(user=user, rotated_at__isnull=True)),
    ]
    missing = {client_pk for client_pk, *_rest in token_rows} - set(found)
    for client in Client.objects.filter(pk__in=missing) if missing else []:
        found[client.pk] = AuthorizedClient(client)
    for client_pk, scope, first, last in token_rows:
        found[client_pk].add(scope, first, last)
    return sorted(found.values(), key=lambda a: (a.client.name.casefold(), a.client.pk))


def _token_summary(tokens) -> list[tuple[int, str, datetime, datetime]]:
    return list(
        tokens.order_by()
        .values_list("client_id", "scope")
        .annotate(first=Min("created"), last=Max("created"))
    )


def revoke_authorization(user, client: Client, *, reason: str = "user_revoked") -> int:
    """Take back everything ``user`` granted ``client``, in one transaction; return the
    number of tokens revoked.

    The consent goes, so the next authorization request asks again; every access and
    refresh token is revoked through ``receivers.revoke_tokens``, which writes revoked JWT
    ids to the shared revocation list and sends ``token_revoked``, as the revocation
    endpoint does (RFC 7009 §2.1: a refresh token's grant goes with it); unused codes and
    approved, unredeemed device authorizations can no longer be exchanged for tokens.

    Back-channel logout sessions are left alone, as for every other revocation: they are
    ended, with a logout token, when the provider session ends (Back-Channel Logout §2.5).
    """
    now = timezone.now()
    with transaction.atomic():
        consents = Consent.objects.filter(user=user, client=client, revoked_at__isnull=True)
        consents.update(revoked_at=now)
        count = revoke_tokens(client=client, reason=reason, user=user)
        AuthorizationCode.objects.filter(client=client, user=user, used_at__isnull=True).update(
            used_at=now
        )
        DeviceAuthorization.objects.filter(
            client=client,
            user=user,
            used_at__isnull=True,
            status=DeviceAuthorization.Status.APPROVED,
        ).update(status=DeviceAuthorization.Status.DENIED, decided_at=now)
    logger.info(
        "authorization revoked: client=%s user=%s reason=%s tokens=%d",
        client.client_id,
        user.pk,
        reason,
        count,
    )
    return count
