"""The read-only base for records the endpoints write, and the codes it shows as is."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import AccessToken, AuthorizationCode, DeviceAuthorization, RefreshToken
from .filters import CODE_STATES, DEVICE_STATES, TOKEN_STATES, StateFilter, States


class RecordAdmin(admin.ModelAdmin):
    """Records the endpoints write: listed, viewed and revoked here, never added or edited."""

    states: States = TOKEN_STATES
    list_select_related = ("client", "user")
    raw_id_fields = ("client", "user")
    search_fields = ("client__client_id", "client__name", "scope")
    ordering = ("-created",)

    def get_search_fields(self, request):
        return (*self.search_fields, f"user__{get_user_model().USERNAME_FIELD}")

    def get_list_filter(self, request):
        return (StateFilter, "client__client_type", *self.list_filter)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Change permission on the list lets actions run; a single record is read-only.
        return obj is None and super().has_change_permission(request)

    @admin.display(description=_("state"))
    def state(self, obj) -> str:
        if getattr(obj, "revoked_at", None):
            return gettext("revoked")
        if getattr(obj, "rotated_at", None):
            return gettext("rotated")
        if getattr(obj, "used_at", None):
            return gettext("used")
        return gettext("expired") if obj.expires_at <= timezone.now() else gettext("active")

    @admin.display(description=_("grant"))
    def grant_family(self, obj) -> str:
        """The grant ID, with links to every token descending from that authorization."""
        urls = [
            reverse(
                f"admin:{self.opts.app_label}_{model._meta.model_name}_changelist",
                current_app=self.admin_site.name,
            )
            for model in (AccessToken, RefreshToken)
        ]
        return format_html(
            '{} (<a href="{}?grant_id={}">{}</a>, <a href="{}?grant_id={}">{}</a>)',
            obj.grant_id,
            urls[0],
            obj.grant_id,
            gettext("access tokens"),
            urls[1],
            obj.grant_id,
            gettext("refresh tokens"),
        )


@admin.register(AuthorizationCode)
class AuthorizationCodeAdmin(RecordAdmin):
    states = CODE_STATES
    list_display = ("__str__", "client", "user", "scope", "state", "created", "expires_at")
    # code_hash, code_challenge and nonce are left out.
    fields = (
        "client",
        "user",
        "scope",
        "grant_family",
        "redirect_uri",
        "redirect_uri_sent",
        "resource",
        "code_challenge_method",
        "created",
        "expires_at",
        "auth_time",
        "used_at",
    )
    readonly_fields = fields


@admin.register(DeviceAuthorization)
class DeviceAuthorizationAdmin(RecordAdmin):
    """Device authorizations (RFC 8628), read-only; neither code is shown, nor its hash."""

    states = DEVICE_STATES
    list_display = ("__str__", "client", "user", "requested_scope", "state", "expires_at")
    list_filter = ("status",)
    search_fields = ("client__client_id", "client__name", "requested_scope", "scope")
    # device_code_hash, user_code_hash and the session's sid are left out.
    fields = (
        "client",
        "user",
        "status",
        "requested_scope",
        "scope",
        "grant_family",
        "resource",
        "interval",
        "created",
        "expires_at",
        "last_polled_at",
        "decided_at",
        "auth_time",
        "used_at",
    )
    readonly_fields = fields

    @admin.display(description=_("state"))
    def state(self, obj: DeviceAuthorization) -> str:
        if obj.used_at:
            return gettext("used")
        if obj.status == DeviceAuthorization.Status.PENDING and obj.expires_at <= timezone.now():
            return gettext("expired")
        return str(obj.get_status_display()).lower()
