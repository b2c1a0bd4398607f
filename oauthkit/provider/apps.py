from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProviderConfig(AppConfig):
    name = "oauthkit.provider"
    label = "oauthkit_provider"
    verbose_name = _("OAuth provider")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from . import (
            checks,  # noqa: F401 - registers the system checks
            receivers,
        )
        from .keys import _connect_model_signals
        from .logout import end_provider_session
        from .sessions import record_auth_time, record_session_id

        _connect_model_signals()
        receivers.connect()
        user_logged_in.connect(record_auth_time, dispatch_uid="oauthkit-auth-time")
        user_logged_in.connect(record_session_id, dispatch_uid="oauthkit-session-id")
        # Back-Channel Logout §2.5: whichever view logs the user out.
        user_logged_out.connect(end_provider_session, dispatch_uid="oauthkit-end-session")
