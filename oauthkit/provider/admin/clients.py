"""Client admin, with the secret shown once and the view that regenerates it."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..._compat import URL_FIELD_HTTPS
from ..forms import ClientAdminForm
from ..models import Client
from .filters import GrantTypeFilter


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
            # OIDC Registration §2: the public keys of a private_key_jwt client.
            _("Client keys (private_key_jwt)"),
            {"fields": ("jwks_uri", "jwks", "token_endpoint_auth_signing_alg")},
        ),
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

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "jwks_uri":
            # Django 5.0+: a URL typed without a scheme is https, as Django 6 will assume.
            kwargs.update(URL_FIELD_HTTPS)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request, obj: Client, form, change: bool) -> None:
        if not uses_secret(obj):
            # A public client has no secret; a private_key_jwt client proves itself with
            # its key, and a secret left from an earlier method must not linger.
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
        if not uses_secret(client):
            message = gettext("This client authenticates with its private key: it has no secret.")
            self.message_user(request, message, messages.ERROR)
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


def uses_secret(client: Client) -> bool:
    """Whether the client authenticates with a secret (RFC 6749 §2.3.1)."""
    return client.token_endpoint_auth_method in (
        Client.AuthMethod.CLIENT_SECRET_BASIC,
        Client.AuthMethod.CLIENT_SECRET_POST,
    )
