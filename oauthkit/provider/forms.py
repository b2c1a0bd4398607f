"""Forms for registering clients in the admin, and the checks that ``createclient`` shares."""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .._compat import URL_FIELD_HTTPS
from .grants.base import client_grant_types
from .models import Client
from .scopes import known_scopes


def client_list_errors(
    *,
    grant_types: Iterable[str],
    scopes: Iterable[str],
    default_scopes: Iterable[str],
    redirect_uris,
) -> dict[str, list[str]]:
    """What is inconsistent between a client's lists, by field name.

    ``Client.clean()`` checks each value; this checks that they fit together.
    """
    errors: dict[str, list[str]] = {}
    allowed = set(scopes)
    outside = [s for s in default_scopes if allowed and s not in allowed]
    if outside:
        errors["default_scopes"] = [
            gettext("Default scopes must be among the allowed scopes: %(scopes)s.")
            % {"scopes": " ".join(outside)}
        ]
    # RFC 6749 §3.1.2.2, RFC 9700 §2.1: redirect URIs are registered and matched exactly.
    if "authorization_code" in grant_types and not redirect_uris:
        errors["redirect_uris"] = [
            gettext("The authorization_code grant needs at least one redirect URI.")
        ]
    return errors


class LineListField(forms.CharField):
    """A list of strings edited in a textarea, one per line; blank lines are dropped."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 80})

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(str(v) for v in value)
        return value

    def to_python(self, value) -> list[str]:
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        lines = (line.strip() for line in (value or "").splitlines())
        return list(dict.fromkeys(line for line in lines if line))


def _label(name: str) -> str:
    return capfirst(Client._meta.get_field(name).verbose_name)


def _choices(known: dict[str, str], current: Iterable[str]) -> list[tuple[str, str]]:
    """``known`` as choices, plus values the client still has that settings no longer offer,
    so that saving the form does not silently drop them."""
    choices = [(name, label) for name, label in known.items()]
    missing = [v for v in current if v not in known]
    return choices + [(v, gettext("%(name)s (not configured)") % {"name": v}) for v in missing]


class ClientAdminForm(forms.ModelForm):
    """Redirect URIs and resources one per line; grant types and scopes as checkboxes."""

    redirect_uris = LineListField(
        label=_label("redirect_uris"),
        required=False,
        help_text=_("One absolute URI per line; requests must match one exactly."),
    )
    grant_types = forms.MultipleChoiceField(
        label=_label("grant_types"), required=False, widget=forms.CheckboxSelectMultiple
    )
    allowed_resources = LineListField(
        label=_label("allowed_resources"),
        required=False,
        help_text=_(
            "One absolute URI per line, without fragment: the APIs this client may name in "
            "the resource parameter (RFC 8707). Each becomes the audience of its tokens."
        ),
    )
    scopes = forms.MultipleChoiceField(
        label=_label("scopes"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=Client._meta.get_field("scopes").help_text,
    )
    default_scopes = forms.MultipleChoiceField(
        label=_label("default_scopes"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=Client._meta.get_field("default_scopes").help_text,
    )

    logo_uri = forms.URLField(
        label=_label("logo_uri"),
        required=False,
        # Django 5.0+: a URL typed without a scheme is https, as Django 6 will assume.
        **URL_FIELD_HTTPS,
    )
    sector_identifier_uri = forms.URLField(
        label=_label("sector_identifier_uri"),
        required=False,
        help_text=Client._meta.get_field("sector_identifier_uri").help_text,
        **URL_FIELD_HTTPS,
    )

    post_logout_redirect_uris = LineListField(
        label=_label("post_logout_redirect_uris"),
        required=False,
        help_text=_(
            "One absolute URI per line; an RP-initiated logout may return the user to one "
            "of them (exact match)."
        ),
    )
    backchannel_logout_uri = forms.URLField(
        label=_label("backchannel_logout_uri"),
        required=False,
        max_length=500,
        help_text=Client._meta.get_field("backchannel_logout_uri").help_text,
        **URL_FIELD_HTTPS,
    )

    class Meta:
        model = Client
        fields = (
            "name",
            "client_id",
            "client_type",
            "token_endpoint_auth_method",
            "redirect_uris",
            "grant_types",
            "scopes",
            "default_scopes",
            "require_pkce",
            "skip_consent",
            "access_token_format",
            "allowed_resources",
            "can_introspect",
            "id_token_signed_response_alg",
            "subject_type",
            "sector_identifier_uri",
            "post_logout_redirect_uris",
            "backchannel_logout_uri",
            "is_active",
            "owner",
            "logo_uri",
            "metadata",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built per form: the registry and scopes follow settings.
        instance = self.instance
        grants = {name: name for name in client_grant_types()}
        scopes = {name: f"{name} — {label}" for name, label in known_scopes().items()}
        self.fields["grant_types"].choices = _choices(grants, instance.grant_types or [])
        self.fields["scopes"].choices = _choices(scopes, instance.scopes or [])
        self.fields["default_scopes"].choices = _choices(scopes, instance.default_scopes or [])
        if not instance.pk:
            self.fields["grant_types"].initial = [
                g for g in ("authorization_code", "refresh_token") if g in grants
            ]

    def clean(self):
        cleaned = super().clean()
        errors = client_list_errors(
            grant_types=cleaned.get("grant_types") or [],
            scopes=cleaned.get("scopes") or [],
            default_scopes=cleaned.get("default_scopes") or [],
            redirect_uris=cleaned.get("redirect_uris") or [],
        )
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field, message)
        return cleaned
