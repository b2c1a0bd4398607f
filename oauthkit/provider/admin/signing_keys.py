"""Signing keys: listed, with whether each is published, and retired; never shown."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import BooleanField, Case, QuerySet, Value, When
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ...conf import oauthkit_settings
from ..keys import key_ring, published_filter
from ..models import SigningKey


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    """Keys come from ``manage.py rotatekeys``; here they are listed and retired."""

    list_display = ("kid", "algorithm", "created", "active", "retired_at", "published")
    list_filter = ("active", "algorithm")
    search_fields = ("=kid",)
    # private_jwk is left out.
    fields = ("kid", "algorithm", "created", "active", "retired_at")
    readonly_fields = fields
    actions = ("retire_selected",)

    def get_queryset(self, request):
        published = Case(
            When(published_filter(), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
        return super().get_queryset(request).annotate(is_published=published)

    @admin.display(description=_("published in JWKS"), boolean=True, ordering="is_published")
    def published(self, obj: SigningKey) -> bool:
        return obj.is_published

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # A deleted key can no longer verify the tokens it signed: `rotatekeys --prune`
        # deletes only keys that are no longer published.
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    @admin.action(description=_("Retire selected signing keys"), permissions=["change"])
    def retire_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        pks = list(queryset.filter(active=True).values_list("pk", flat=True))
        others = SigningKey.objects.filter(active=True).exclude(pk__in=pks)
        if not others.exists() and not oauthkit_settings.SIGNING_KEYS:
            self.message_user(
                request,
                gettext(
                    "Nothing retired: no key would be left to sign tokens. "
                    "Run `manage.py rotatekeys` instead."
                ),
                messages.ERROR,
            )
            return
        # Retired keys stay published until the tokens they signed expire (keys.py).
        count = SigningKey.objects.filter(pk__in=pks).update(
            active=False, retired_at=timezone.now()
        )
        key_ring.clear()
        self.message_user(
            request,
            ngettext("%(count)d key retired.", "%(count)d keys retired.", count) % {"count": count},
            messages.SUCCESS,
        )
