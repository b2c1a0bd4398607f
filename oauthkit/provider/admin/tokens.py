"""Access and refresh tokens, revoked from the list as the revocation endpoint would."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..events import revoke_grant, tokens_revoked
from ..models import AccessToken, Client, RefreshToken
from .filters import REFRESH_TOKEN_STATES
from .records import RecordAdmin


class TokenAdmin(RecordAdmin):
    actions = ("revoke_selected",)

    @admin.action(description=_("Revoke selected %(verbose_name_plural)s"), permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = self.revoke(queryset)
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    def revoke(self, queryset: QuerySet) -> int:
        raise NotImplementedError


@admin.register(AccessToken)
class AccessTokenAdmin(TokenAdmin):
    list_display = ("jti", "client", "user", "scope", "state", "created", "expires_at")
    search_fields = ("=jti", *RecordAdmin.search_fields)
    # token_hash is left out; the jti identifies a token without being one.
    fields = (
        "jti",
        "client",
        "user",
        "scope",
        "audience",
        "grant_family",
        "created",
        "expires_at",
        "revoked_at",
    )
    readonly_fields = fields

    def revoke(self, queryset: QuerySet) -> int:
        """Revoke just the selected access tokens, as the revocation endpoint does."""
        total = 0
        with transaction.atomic():
            live = queryset.filter(revoked_at__isnull=True)
            for client in Client.objects.filter(pk__in=live.values("client")):
                count = live.filter(client=client).revoke()
                tokens_revoked(client=client, grant_id=None, reason="admin", count=count)
                total += count
        return total


@admin.register(RefreshToken)
class RefreshTokenAdmin(TokenAdmin):
    states = REFRESH_TOKEN_STATES
    list_display = ("__str__", "client", "user", "scope", "state", "created", "expires_at")
    # token_hash is left out.
    fields = (
        "client",
        "user",
        "scope",
        "grant_family",
        "created",
        "expires_at",
        "auth_time",
        "rotated_at",
        "revoked_at",
    )
    readonly_fields = fields

    def revoke(self, queryset: QuerySet) -> int:
        """Revoke each selected token's whole grant: RFC 7009 §2.1, and a rotated token
        revoked alone would leave its successor valid (RFC 9700 §4.14.2)."""
        total = 0
        with transaction.atomic():
            grants = queryset.values_list("client", "grant_id").distinct()
            clients = Client.objects.in_bulk({client_pk for client_pk, _g in grants})
            for client_pk, grant_id in grants:
                total += revoke_grant(clients[client_pk], grant_id, reason="admin")
        return total
