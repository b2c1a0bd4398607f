"""List filters: the states each record model can be filtered by, and grant types."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from django.contrib import admin
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..grants.base import grant_registry
from ..models import DeviceAuthorization

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
