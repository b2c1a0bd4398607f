"""Django admin for the provider's records.

No secret is ever displayed: client secrets, codes and tokens are stored only as hashes
and the hashes are not shown either; signing keys show their ``kid``, never the private
key. A client's raw secret appears once, on the page answering the request that made it.
Codes, tokens and consents are written by the endpoints: here they are viewed and revoked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ..conf import oauthkit_settings
from .events import revoke_grant, tokens_revoked
from .forms import ClientAdminForm
from .grants.base import grant_registry
from .keys import key_ring, published_filter
from .models import (
    AccessToken,
    AuthorizationCode,
    Client,
    Consent,
    DeviceAuthorization,
    RefreshToken,
    SigningKey,
)

States = dict[str, tuple[str, Callable[[datetime], Q]]]

TOKEN_STATES: States = {
    "active": (_("Active"), lambda now: Q(revoked_at__isnull=True, expires_at__gt=now)),
    "expired": (_("Expired"), lambda now: Q(expires_at__lte=now)),
    "revoked": (_("Revoked"), lambda now: Q(revoked_at__isnull=False)),
}
REFRESH_TOKEN_STATES: States = {
    **TOKEN_STATES,
    "active": (
        _("Active"),
        lambda now: Q(revoked_at__isnull=True, rotated_at__isnull=True, expires_at__gt=now),
    ),
    "rotated": (_("Rotated"), lambda now: Q(rotated_at__isnull=False)),
}
CODE_STATES: States = {
    "unused": (_("Unused"), lambda now: Q(used_at__isnull=True, expires_at__gt=now)),
    "used": (_("Used"), lambda now: Q(used_at__isnull=False)),
    "expired": (_("Expired"), lambda now: Q(expires_at__lte=now)),
}


class StateFilter(admin.SimpleListFilter):
    """Filter by the ``states`` the model admin declares (active, expired, revoked ...)."""

    title = _("state")
    parameter_name = "state"

    def __init__(self, request, params, model, model_admin):
        self.states: States = model_admin.states
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _q) in self.states.items()]

    def queryset(self, request, queryset):
        state = self.states.get(self.value() or "")
        return queryset.filter(state[1](timezone.now())) if state else queryset


class GrantTypeFilter(admin.SimpleListFilter):
    title = _("grant type")
    parameter_name = "grant_type"

    def lookups(self, request, model_admin):
        return [(name, name) for name in grant_registry()]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        # Matches the quoted JSON string, so it works where JSON `contains` does not (SQLite).
        return queryset.filter(grant_types__icontains=json.dumps(self.value()))


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    form = ClientAdminForm
    ordering = ("name",)
    list_display = (
        "name",
        "client_id",
        "client_type",
        "grant_types_display",
        "token_endpoint_auth_method",
        "skip_consent",
        "is_active",
        "owner",
        "created",
    )
    list_filter = (
        "client_type",
        "is_active",
        GrantTypeFilter,
        "token_endpoint_auth_method",
        "skip_consent",
    )
    search_fields = ("name", "client_id")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    readonly_fields = ("created", "updated")
    fieldsets = (
        (None, {"fields": ("name", "client_id", "client_type", "token_endpoint_auth_method")}),
        (
            _("Authorization"),
            {
                "fields": (
                    "redirect_uris",
                    "grant_types",
                    "scopes",
                    "default_scopes",
                    "require_pkce",
                    "skip_consent",
                )
            },
        ),
        (
            _("Tokens"),
            {"fields": ("access_token_format", "allowed_resources", "can_introspect")},
        ),
        (
            _("OpenID Connect"),
            {
                "fields": (
                    "id_token_signed_response_alg",
                    "subject_type",
                    "sector_identifier_uri",
                    "post_logout_redirect_uris",
                    "backchannel_logout_uri",
                )
            },
        ),
        (
            _("More"),
            {"fields": ("is_active", "owner", "logo_uri", "metadata", "created", "updated")},
        ),
    )

    @admin.display(description=_("grant types"))
    def grant_types_display(self, obj: Client) -> str:
        return ", ".join(obj.grant_types or [])

    def get_search_fields(self, request):
        return (*self.search_fields, f"owner__{get_user_model().USERNAME_FIELD}")

    def get_readonly_fields(self, request, obj=None):
        # A client's ID is part of its configuration elsewhere; it is chosen once.
        readonly = tuple(super().get_readonly_fields(request, obj))
        return (*readonly, "client_id") if obj is not None else readonly

    def save_model(self, request, obj: Client, form, change: bool) -> None:
        if obj.is_public:
            obj.secret_hash = ""
        elif not obj.secret_hash:
            # New, or turned confidential: the raw value is shown once by response_*.
            obj._raw_secret = obj.set_new_secret()
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        raw = getattr(obj, "_raw_secret", None)
        if raw:
            return self.secret_response(request, obj, raw)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        raw = getattr(obj, "_raw_secret", None)
        if raw:
            return self.secret_response(request, obj, raw)
        return super().response_change(request, obj)

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_regenerate_secret"
        view = self.admin_site.admin_view(self.regenerate_secret_view)
        return [path("<path:object_id>/regenerate-secret/", view, name=name), *super().get_urls()]

    def regenerate_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET asks for confirmation; POST replaces the secret and shows the new one once."""
        client = self.get_object(request, unquote(object_id))
        if client is None:
            raise Http404
        if not self.has_change_permission(request, client):
            raise PermissionDenied
        if client.is_public:
            self.message_user(request, gettext("A public client has no secret."), messages.ERROR)
            return HttpResponseRedirect(self._change_url(client))
        if request.method == "POST":
            raw = client.set_new_secret()
            client.save(update_fields=["secret_hash", "updated"])
            self.log_change(request, client, gettext("Regenerated the client secret."))
            return self.secret_response(request, client, raw)
        context = self._context(request, client, gettext("Regenerate the client secret?"))
        return TemplateResponse(
            request, "admin/oauthkit_provider/client/regenerate_secret.html", context
        )

    def secret_response(self, request: HttpRequest, client: Client, raw: str) -> HttpResponse:
        """The only page that ever shows the raw secret; never cached (admin_view adds that)."""
        context = self._context(request, client, gettext("Client secret"))
        context.update(secret=raw, change_url=self._change_url(client))
        response = TemplateResponse(request, "admin/oauthkit_provider/client/secret.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def _context(self, request, client: Client, title: str) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": client,
            "title": title,
        }

    def _change_url(self, client: Client) -> str:
        name = f"admin:{self.opts.app_label}_{self.opts.model_name}_change"
        return reverse(name, args=(client.pk,), current_app=self.admin_site.name)


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


DEVICE_STATES: States = {
    "pending": (
        _("Pending"),
        lambda now: Q(status=DeviceAuthorization.Status.PENDING, expires_at__gt=now),
    ),
    "approved": (
        _("Approved, not yet collected"),
        lambda now: Q(
            status=DeviceAuthorization.Status.APPROVED, used_at__isnull=True, expires_at__gt=now
        ),
    ),
    "used": (_("Used"), lambda now: Q(used_at__isnull=False)),
    "denied": (_("Denied"), lambda now: Q(status=DeviceAuthorization.Status.DENIED)),
    "expired": (_("Expired"), lambda now: Q(expires_at__lte=now, used_at__isnull=True)),
}


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
