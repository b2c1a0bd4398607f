"""``manage.py cleartokens``: delete codes, tokens and consents that can no longer be used.

Rows are deleted in batches of primary keys, each batch in its own short transaction,
so the command holds little memory and few locks and can run while the site serves.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ...models import (
    AccessToken,
    AuthorizationCode,
    Consent,
    DeviceAuthorization,
    LogoutSession,
    RefreshToken,
    UsedClientAssertion,
)


def expired_or_revoked(now: datetime) -> Q:
    return Q(expires_at__lte=now) | Q(revoked_at__isnull=False)


def deletable(now: datetime) -> list[tuple[type[models.Model], Q]]:
    """Each model with the condition under which its rows are of no further use."""
    return [
        # A revoked access token's row can go: a token without a row is inactive.
        (AccessToken, expired_or_revoked(now)),
        # A rotated refresh token is kept until it expires: presenting it again must still
        # revoke its family (RFC 9700 §4.14.2).
        (RefreshToken, expired_or_revoked(now)),
        # A used code is kept until it expires: a replay must still revoke the tokens
        # issued for it (RFC 6749 §4.1.2). An expired code is refused either way.
        (AuthorizationCode, Q(expires_at__lte=now)),
        (Consent, expired_or_revoked(now)),
        # A used device code is kept until it expires, like a code; an expired one is
        # refused with expired_token either way (RFC 8628 §3.5).
        (DeviceAuthorization, Q(expires_at__lte=now)),
        # An expired client assertion is refused for its exp: its jti need not be kept.
        (UsedClientAssertion, Q(expires_at__lte=now)),
        # Sessions that ended without a logout: no session outlives SESSION_COOKIE_AGE.
        (
            LogoutSession,
            Q(created__lte=now - timedelta(seconds=settings.SESSION_COOKIE_AGE)),
        ),
    ]


class Command(BaseCommand):
    help = (
        "Delete expired and revoked tokens, expired authorization codes, device "
        "authorizations and used client assertions, and expired or revoked consents, "
        "in batches."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=1000,
            help=gettext_lazy("Rows deleted per transaction (default: 1000)."),
        )

    def handle(self, *args, batch_size: int, verbosity: int = 1, **options) -> None:
        if batch_size < 1:
            raise CommandError(_("--batch-size must be a positive number."))
        now = timezone.now()
        for model, condition in deletable(now):
            count = self.delete_in_batches(model, condition, batch_size, verbosity)
            if verbosity >= 1:
                self.stdout.write(
                    _("%(models)s: %(count)d deleted.")
                    % {"models": str(model._meta.verbose_name_plural).capitalize(), "count": count}
                )

    def delete_in_batches(
        self, model: type[models.Model], condition: Q, batch_size: int, verbosity: int
    ) -> int:
        total = 0
        last_pk = None
        while True:
            candidates = model._default_manager.filter(condition)
            if last_pk is not None:
                # Walk forward by primary key, so a row that stopped matching between the
                # SELECT and the DELETE is not looked at again.
                candidates = candidates.filter(pk__gt=last_pk)
            pks = list(candidates.order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not pks:
                return total
            with transaction.atomic():
                # The condition again: a row's state may have changed since the SELECT.
                _count, per_model = model._default_manager.filter(condition, pk__in=pks).delete()
            total += per_model.get(model._meta.label, 0)
            last_pk = pks[-1]
            if verbosity >= 2:
                self.stdout.write(
                    _("  %(model)s: %(total)d deleted so far")
                    % {"model": model._meta.verbose_name_plural, "total": total}
                )
