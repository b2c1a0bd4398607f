from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProviderConfig(AppConfig):
    name = "oauthkit.provider"
    label = "oauthkit_provider"
    verbose_name = _("OAuth provider")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from . import (
            checks,  # noqa: F401 - registers the system checks
            receivers,
        )
        from .keys import _connect_model_signals
        from .sessions import record_auth_time

        _connect_model_signals()
        receivers.connect()
        user_logged_in.connect(record_auth_time, dispatch_uid="oauthkit-auth-time")
