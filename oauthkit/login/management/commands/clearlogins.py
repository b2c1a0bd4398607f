"""``manage.py clearlogins``: delete the login side's leftovers (run it daily, like
``cleartokens``): expired pending sign-ins, expired logout-token ids, and back-channel
session records whose Django session is gone."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from oauthkit.login.models import PendingLogin, ProviderSession, UsedLogoutToken


class Command(BaseCommand):
    help = gettext_lazy("Delete expired pending sign-ins, logout-token ids and session records.")

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        pending, _n = PendingLogin.objects.filter(expires_at__lt=now).delete()
        jtis, _n = UsedLogoutToken.objects.filter(expires_at__lt=now).delete()
        sessions = 0
        if _uses_database_sessions():
            live = Session.objects.filter(expire_date__gt=now).values("session_key")
            sessions, _n = ProviderSession.objects.exclude(session_key__in=live).delete()
        self.stdout.write(
            _(
                "Deleted %(pending)d pending sign-ins, %(jtis)d logout-token ids, "
                "%(sessions)d session records."
            )
            % {"pending": pending, "jtis": jtis, "sessions": sessions}
        )


def _uses_database_sessions() -> bool:
    from django.conf import settings

    # Other session engines cannot be listed; their records go with back-channel logout.
    return settings.SESSION_ENGINE in (
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cached_db",
    )
