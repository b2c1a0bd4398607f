"""Admin for login providers (client secret write-only, stored encrypted) and linked
accounts (stored tokens are never shown)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .._compat import URL_FIELD_HTTPS
from .models import LinkedAccount, ProviderConfiguration


class ProviderConfigurationForm(forms.ModelForm):
    issuer = forms.URLField(label=_("issuer"), required=False, **URL_FIELD_HTTPS)
    client_secret = forms.CharField(
        label=_("client secret"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Stored encrypted. Leave empty to keep the current secret."),
    )

    class Meta:
        model = ProviderConfiguration
        fields = [
            "slug",
            "name",
            "kind",
            "issuer",
            "client_id",
            "scopes",
            "token_endpoint_auth_method",
            "settings",
            "enabled",
        ]

    def save(self, commit: bool = True) -> ProviderConfiguration:
        if self.cleaned_data.get("client_secret"):
            self.instance.client_secret = self.cleaned_data["client_secret"]
        return super().save(commit)


@admin.register(ProviderConfiguration)
class ProviderConfigurationAdmin(admin.ModelAdmin):
    form = ProviderConfigurationForm
    list_display = ["slug", "name", "kind", "issuer", "enabled"]
    list_filter = ["enabled", "kind"]
    search_fields = ["slug", "name", "issuer", "client_id"]


@admin.register(LinkedAccount)
class LinkedAccountAdmin(admin.ModelAdmin):
    list_display = ["user", "provider", "email", "created_at", "last_login_at"]
    list_filter = ["provider"]
    search_fields = ["user__username", "email", "subject"]
    raw_id_fields = ["user"]
    readonly_fields = ["provider", "subject", "profile", "created_at", "last_login_at"]
