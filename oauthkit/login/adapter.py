"""The policy of the login side, in one class a site may subclass and name in
LOGIN["ADAPTER"]: who may sign up, when an account links by email, how a profile maps
onto the user, and when a connection may be removed."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from oauthkit.conf import oauthkit_settings

from .models import LinkedAccount
from .providers.base import Profile, Provider


class LoginAdapter:
    """Default policies, driven by LOGIN settings."""

    def is_auto_signup_allowed(
        self, request: HttpRequest, provider: Provider, profile: Profile
    ) -> bool:
        """Whether an unknown account may create a user."""
        return bool(oauthkit_settings.LOGIN["AUTO_SIGNUP"])

    def can_link_by_email(self, request: HttpRequest, provider: Provider, profile: Profile) -> bool:
        """Whether an unknown account may join the existing user with the same email.

        Only an email the provider marks verified, and only when the site allows it:
        otherwise anyone registering the victim's address at a provider would take over
        the victim's account (security checklist, login client 5).
        """
        return bool(
            oauthkit_settings.LOGIN["LINK_BY_VERIFIED_EMAIL"]
            and profile.email_verified
            and profile.email
        )

    def find_existing_user(
        self, request: HttpRequest, provider: Provider, profile: Profile
    ) -> AbstractBaseUser | None:
        """The local user an unlinked provider account belongs to, if any.

        The default links by email under ``can_link_by_email`` only; a site may add its own
        rule (a directory lookup, the same site's own provider ...).
        """
        if self.can_link_by_email(request, provider, profile):
            return self.find_user_by_email(profile.email or "")
        return None

    def find_user_by_email(self, email: str) -> AbstractBaseUser | None:
        """The one active user with this email, or None when there is none or several."""
        users = list(
            get_user_model()._default_manager.filter(email__iexact=email, is_active=True)[:2]
        )
        return users[0] if len(users) == 1 else None

    def suggested_username(self, profile: Profile) -> str:
        """A username from the profile (cleaned to Django's username characters)."""
        base = profile.username or (profile.email or "").split("@")[0] or profile.name or "user"
        base = re.sub(r"[^\w.@+-]", "", base.replace(" ", "."))[:150]
        return base or "user"

    def username_is_free(self, username: str) -> bool:
        model = get_user_model()
        field = model.USERNAME_FIELD
        return not model._default_manager.filter(**{f"{field}__iexact": username}).exists()

    def populate_user(self, user: AbstractBaseUser, profile: Profile) -> None:
        """Copy profile data onto a new user (not saved here)."""
        if profile.email and hasattr(user, "email") and profile.email_verified:
            user.email = profile.email
        if hasattr(user, "first_name"):
            user.first_name = (profile.given_name or "")[:150]
        if hasattr(user, "last_name"):
            user.last_name = (profile.family_name or "")[:150]

    def new_user(
        self, request: HttpRequest, provider: Provider, profile: Profile, username: str
    ) -> AbstractBaseUser:
        """Create the user of a first sign-in; it has no usable password."""
        model = get_user_model()
        user = model(**{model.USERNAME_FIELD: username})
        self.populate_user(user, profile)
        user.set_unusable_password()
        user.save()
        return user

    def profile_data(self, profile: Profile) -> dict[str, Any]:
        """What is kept in LinkedAccount.profile."""
        return dict(profile.raw)

    def can_disconnect(self, user: AbstractBaseUser, account: LinkedAccount) -> bool:
        """Never remove the last way to sign in."""
        if user.has_usable_password():
            return True
        return LinkedAccount.objects.filter(user=user).exclude(pk=account.pk).exists()


def get_adapter() -> LoginAdapter:
    """An instance of the configured adapter class."""
    from django.utils.module_loading import import_string

    value = oauthkit_settings.LOGIN["ADAPTER"]
    cls = import_string(value) if isinstance(value, str) else value
    return cls()
