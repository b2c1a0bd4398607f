"""Keeping tokens in step with the accounts they stand for.

When a user or a client is deactivated, or a user's password changes, their tokens are
revoked at once, so that APIs that check revocation through the shared cache (no SQL)
refuse them too, and so that the admin shows them revoked (RFC 9700 §4.14.2: refresh
tokens revocable on such events).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import post_save
from django.utils import timezone

from ..conf import oauthkit_settings
from .events import tokens_revoked
from .models import AccessToken, AuthorizationCode, Client, DeviceAuthorization, RefreshToken


def revoke_tokens_of_inactive_user(sender, instance, **kwargs) -> None:
    # Every save of an active user ends here: no query unless it was deactivated.
    if getattr(instance, "is_active", True):
        return
    revoke_user_tokens(instance, reason="user_deactivated")


def revoke_tokens_on_password_change(sender, instance, created: bool = False, **kwargs) -> None:
    """Revoke the user's tokens when ``set_password()`` was followed by this save.

    Django's ``AbstractBaseUser.set_password()`` keeps the raw value in ``_password``
    until ``save()`` has run (it then calls ``password_changed()`` and clears it), and
    clears it before saving a mere hash upgrade in ``check_password()``: so it marks a
    real change, and reading it costs no query on other saves.
    """
    if getattr(instance, "_password", None) is None or created:
        return  # a new user has no tokens yet
    if not oauthkit_settings.REVOKE_TOKENS_ON_PASSWORD_CHANGE:
        return
    with transaction.atomic():
        revoke_user_tokens(instance, reason="password_changed")
        # Nor can what was authorized with the old password still become tokens.
        now = timezone.now()
        AuthorizationCode.objects.filter(user=instance, used_at__isnull=True).update(used_at=now)
        DeviceAuthorization.objects.filter(
            user=instance, used_at__isnull=True, status=DeviceAuthorization.Status.APPROVED
        ).update(status=DeviceAuthorization.Status.DENIED, decided_at=now)


def revoke_tokens_of_inactive_client(sender, instance: Client, **kwargs) -> None:
    if not instance.is_active:
        revoke_tokens(client=instance, reason="client_deactivated")


def revoke_user_tokens(user, *, reason: str) -> int:
    """Revoke every access and refresh token of ``user``, for every client."""
    holders = {
        *AccessToken.objects.filter(user=user, revoked_at__isnull=True).values_list(
            "client", flat=True
        ),
        *RefreshToken.objects.filter(user=user, revoked_at__isnull=True).values_list(
            "client", flat=True
        ),
    }
    # One revoke_tokens per client: token_revoked is sent per client.
    return sum(
        revoke_tokens(client=client, user=user, reason=reason)
        for client in Client.objects.filter(pk__in=holders)
    )


def revoke_tokens(*, client: Client, reason: str, **owner) -> int:
    """Revoke every access and refresh token of ``client`` (and ``owner`` filters).

    Revoked JWT access tokens go on the shared revocation list (``REVOCATION_CACHE``)
    through ``AccessToken.objects.revoke()``, and ``token_revoked`` is sent.
    """
    count = AccessToken.objects.filter(client=client, **owner).revoke()
    count += RefreshToken.objects.filter(client=client, **owner).revoke()
    if count:
        tokens_revoked(client=client, grant_id=None, reason=reason, count=count)
    return count


def connect() -> None:
    user_model = get_user_model()
    post_save.connect(
        revoke_tokens_of_inactive_user,
        sender=user_model,
        dispatch_uid="oauthkit-revoke-inactive-user",
    )
    post_save.connect(
        revoke_tokens_on_password_change,
        sender=user_model,
        dispatch_uid="oauthkit-revoke-on-password-change",
    )
    post_save.connect(
        revoke_tokens_of_inactive_client,
        sender=Client,
        dispatch_uid="oauthkit-revoke-inactive-client",
    )
