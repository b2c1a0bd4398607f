from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoginConfig(AppConfig):
    name = "oauthkit.login"
    label = "oauthkit_login"
    verbose_name = _("Sign in with OAuth")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from . import checks  # noqa: F401 - registers the system checks
        from .logout import forget_session

        user_logged_out.connect(forget_session, dispatch_uid="oauthkit-login-forget-session")
