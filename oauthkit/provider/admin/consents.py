"""Consents, whose revocation also revokes the tokens and codes issued under them."""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..events import tokens_revoked
from ..models import AccessToken, AuthorizationCode, Client, Consent, RefreshToken
from .records import RecordAdmin


@admin.register(Consent)
class ConsentAdmin(RecordAdmin):
    list_display = ("user", "client", "scope", "state", "created", "updated", "expires_at")
    fields = ("user", "client", "scope", "created", "updated", "expires_at", "revoked_at")
    readonly_fields = fields
    ordering = ("-updated",)
    actions = ("revoke_selected",)

    @admin.action(
        description=_("Revoke selected consents and their tokens"), permissions=["change"]
    )
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        now = timezone.now()
        with transaction.atomic():
            consents = list(queryset.filter(revoked_at__isnull=True).select_related("client"))
            Consent.objects.filter(pk__in=[c.pk for c in consents]).update(revoked_at=now)
            tokens = sum(revoke_user_tokens(c.client, c.user_id, now=now) for c in consents)
        self.message_user(
            request,
            ngettext(
                "%(count)d consent revoked, with %(tokens)d tokens.",
                "%(count)d consents revoked, with %(tokens)d tokens.",
                len(consents),
            )
            % {"count": len(consents), "tokens": tokens},
            messages.SUCCESS,
        )


def revoke_user_tokens(client: Client, user_id, *, now: datetime) -> int:
    """Revoke every token and unused code ``client`` holds for one user."""
    count = AccessToken.objects.filter(client=client, user_id=user_id).revoke()
    count += RefreshToken.objects.filter(client=client, user_id=user_id).revoke()
    AuthorizationCode.objects.filter(client=client, user_id=user_id, used_at__isnull=True).update(
        used_at=now
    )
    tokens_revoked(client=client, grant_id=None, reason="consent_revoked", count=count)
    return count
