"""Keeping tokens in step with the accounts they stand for.

When a user or a client is deactivated, its tokens are revoked at once, so that APIs
that check revocation through the shared cache (no SQL) refuse them too, and so that
the admin shows them revoked (RFC 9700 §4.14.2: refresh tokens revocable on such events).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save

from .events import tokens_revoked
from .models import AccessToken, Client, RefreshToken


def revoke_tokens_of_inactive_user(sender, instance, **kwargs) -> None:
    if getattr(instance, "is_active", True):
        return
    holders = {
        *AccessToken.objects.filter(user=instance, revoked_at__isnull=True).values_list(
            "client", flat=True
        ),
        *RefreshToken.objects.filter(user=instance, revoked_at__isnull=True).values_list(
            "client", flat=True
        ),
    }
    for client in Client.objects.filter(pk__in=holders):
        revoke_tokens(client=client, user=instance, reason="user_deactivated")


def revoke_tokens_of_inactive_client(sender, instance: Client, **kwargs) -> None:
    if not instance.is_active:
        revoke_tokens(client=instance, reason="client_deactivated")


def revoke_tokens(*, client: Client, reason: str, **owner) -> int:
    """Revoke every access and refresh token of ``client`` (and ``owner`` filters)."""
    count = AccessToken.objects.filter(client=client, **owner).revoke()
    count += RefreshToken.objects.filter(client=client, **owner).revoke()
    if count:
        tokens_revoked(client=client, grant_id=None, reason=reason, count=count)
    return count


def connect() -> None:
    post_save.connect(
        revoke_tokens_of_inactive_user,
        sender=get_user_model(),
        dispatch_uid="oauthkit-revoke-inactive-user",
    )
    post_save.connect(
        revoke_tokens_of_inactive_client,
        sender=Client,
        dispatch_uid="oauthkit-revoke-inactive-client",
    )
