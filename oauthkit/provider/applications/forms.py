"""The form a person registers and edits their own client with.

It offers a safe subset of the admin's form: name, logo, type, redirect URIs, grant
types and scopes. Values are checked by ``Client.clean()`` (redirect URI rules of
RFC 6749 §3.1.2 and RFC 8252 §7, public clients without client_credentials) and by
``client_list_errors`` (lists that must fit together), as in the admin. What only an
administrator may decide (skip_consent, can_introspect, required_scopes, resources,
token format) is not on it.
"""

from __future__ import annotations

from collections.abc import Iterable

import django
from django import forms
from django.utils.translation import gettext_lazy as _

from ..._compat import URL_FIELD_HTTPS
from ...conf import oauthkit_settings
from ..forms import LineListField, client_list_errors
from ..grants.base import grant_registry
from ..models import Client
from ..scopes import known_scopes

#: Grant types a self-registered client may ever choose, when the site's registry has them
#: and DEVELOPER_APPLICATIONS_GRANT_TYPES lists them. RFC 9700 §2.4 / §2.1.2: never the
#: legacy password or implicit flows, whatever the setting says.
SELF_SERVICE_GRANT_TYPES = (
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",  # RFC 8628 §3.4
)

GRANT_TYPE_LABELS = {
    "authorization_code": _("Authorization code (sign-in through the browser)"),
    "refresh_token": _("Refresh token (stay signed in)"),
    "client_credentials": _("Client credentials (the application acts for itself)"),
    "urn:ietf:params:oauth:grant-type:device_code": _("Device code (TVs and command lines)"),
}


def _choices(offered: dict[str, str], current: Iterable[str]) -> list[tuple[str, str]]:
    """``offered`` plus what the client already has (set by an administrator), so that
    saving the form keeps it; nothing else can be picked."""
    extra = [(value, value) for value in current if value not in offered]
    return [*offered.items(), *extra]


class DeveloperClientForm(forms.ModelForm):
    """Create (with ``client_type``) or edit (without: a client's type is chosen once)."""

    logo_uri = forms.URLField(
        label=_("Logo URL"),
        required=False,
        help_text=_("An https address of a square image; optional."),
        **URL_FIELD_HTTPS,
    )
    client_type = forms.ChoiceField(
        label=_("Application type"),
        choices=Client.ClientType.choices,
        initial=Client.ClientType.CONFIDENTIAL,
        widget=forms.RadioSelect,
        help_text=_(
            "Confidential: runs on a server that can keep a secret. Public: runs on the "
            "user's device (single-page, mobile or desktop app) and uses PKCE instead."
        ),
    )
    redirect_uris = LineListField(
        label=_("Redirect URIs"),
        required=False,
        help_text=_(
            "One per line, matched exactly. https addresses; http only for 127.0.0.1, [::1] "
            "or localhost; apps may use a private scheme such as com.example.app:/callback."
        ),
    )
    grant_types = forms.MultipleChoiceField(
        label=_("Grant types"), widget=forms.CheckboxSelectMultiple
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What the application may ask users for; ask for no more than it needs."),
    )

    class Meta:
        model = Client
        fields = ("name", "logo_uri", "client_type", "redirect_uris", "grant_types", "scopes")
        labels = {"name": _("Name")}
        help_texts = {"name": _("Shown to people when the application asks for access.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        registry = grant_registry()
        offered = oauthkit_settings.DEVELOPER_APPLICATIONS_GRANT_TYPES
        grants = {
            g: GRANT_TYPE_LABELS[g]
            for g in SELF_SERVICE_GRANT_TYPES
            if g in registry and g in offered
        }
        scopes = {name: f"{name}: {label}" for name, label in known_scopes().items()}
        self.fields["grant_types"].choices = _choices(grants, instance.grant_types or [])
        self.fields["scopes"].choices = _choices(scopes, instance.scopes or [])
        if instance.pk:
            del self.fields["client_type"]
        else:
            self.initial.setdefault(
                "grant_types", [g for g in ("authorization_code", "refresh_token") if g in grants]
            )

    def full_clean(self) -> None:
        super().full_clean()
        if django.VERSION < (5, 2):
            # Django 5.2 ties a field's help and errors to its input (aria-describedby);
            # before it, _form_fields.html renders them with the same ids, linked here.
            for name in self.errors:
                if name not in self.fields:
                    continue
                bound = self[name]
                ids = [f"{bound.auto_id}_helptext"] if bound.help_text else []
                attrs = self.fields[name].widget.attrs
                attrs["aria-describedby"] = " ".join([*ids, f"{bound.auto_id}_error"])
                attrs["aria-invalid"] = "true"

    def clean(self):
        cleaned = super().clean()
        client_type = cleaned.get("client_type") or self.instance.client_type
        # The method follows the type (RFC 6749 §2.1, §2.3.1); Client.clean() checks the pair.
        if client_type == Client.ClientType.PUBLIC:
            self.instance.token_endpoint_auth_method = Client.AuthMethod.NONE
        elif self.instance.token_endpoint_auth_method == Client.AuthMethod.NONE:
            self.instance.token_endpoint_auth_method = Client.AuthMethod.CLIENT_SECRET_BASIC
        errors = client_list_errors(
            grant_types=cleaned.get("grant_types") or [],
            scopes=cleaned.get("scopes") or [],
            default_scopes=self.instance.default_scopes or [],
            redirect_uris=cleaned.get("redirect_uris") or [],
        )
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
        return cleaned
