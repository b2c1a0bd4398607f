"""The login side's records: provider configuration, pending sign-ins, linked accounts,
their stored tokens (encrypted at rest) and provider sessions for back-channel logout."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import crypto
from .errors import ConfigurationError


class ProviderConfiguration(models.Model):
    """A provider configured in the admin. A row replaces a settings entry of the same slug;
    a disabled row hides it."""

    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("button label"), max_length=100, blank=True)
    kind = models.CharField(
        _("kind or preset"),
        max_length=50,
        default="oidc",
        help_text=_('"oidc", "oauth2" or a preset name such as "google".'),
    )
    issuer = models.URLField(_("issuer"), blank=True)
    client_id = models.CharField(_("client ID"), max_length=255)
    client_secret_encrypted = models.TextField(_("client secret (encrypted)"), blank=True)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    token_endpoint_auth_method = models.CharField(
        _("token endpoint authentication"), max_length=30, blank=True
    )
    settings = models.JSONField(_("extra settings"), default=dict, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("login provider")
        verbose_name_plural = _("login providers")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug

    @property
    def client_secret(self) -> str:
        if not self.client_secret_encrypted:
            return ""
        try:
            return crypto.decrypt(self.client_secret_encrypted)
        except crypto.DecryptionError:
            # The key was rotated away: the provider is unusable until the secret is re-entered.
            raise ConfigurationError(code="client_secret_unreadable") from None

    @client_secret.setter
    def client_secret(self, value: str) -> None:
        self.client_secret_encrypted = crypto.encrypt(value) if value else ""

    def as_entry(self) -> dict[str, Any]:
        """This row in the settings-dict form read by ``providers.build_provider``."""
        entry: dict[str, Any] = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "settings": dict(self.settings or {}),
        }
        key = "kind" if self.kind in ("oidc", "oauth2") else "preset"
        entry[key] = self.kind
        if self.scopes:
            entry["scopes"] = list(self.scopes)
        for field in ("name", "issuer", "token_endpoint_auth_method"):
            if getattr(self, field):
                entry[field] = getattr(self, field)
        return entry


class PendingLogin(models.Model):
    """One authorization request in flight: kept server-side, single use, expiring.

    ``state`` is stored only as a hash; ``browser_hash`` binds the request to the browser
    session that started it (RFC 6749 §10.12, RFC 9700 §4.7).
    """

    class Purpose(models.TextChoices):
        LOGIN = "login", _("Sign in")
        CONNECT = "connect", _("Connect an account")

    state_hash = models.CharField(max_length=64, unique=True)
    browser_hash = models.CharField(max_length=64)
    provider = models.CharField(max_length=50)
    purpose = models.CharField(max_length=10, choices=Purpose.choices, default=Purpose.LOGIN)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )
    nonce = models.CharField(max_length=100)
    code_verifier = models.CharField(max_length=128)
    redirect_uri = models.TextField()
    expected_issuer = models.TextField(blank=True)
    next_url = models.TextField(blank=True)
    # The max_age sent (OIDC Core §3.1.2.1): the ID token's auth_time is checked against it.
    max_age = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    # Only read by the provider's authorization_params (providers.base.PendingLike).
    state: str = ""
    #: The checked per-request parameters (prompt, max_age ...; see auth_params.py).
    auth_params: dict[str, str] = {}  # assigned per instance, never mutated

    def __str__(self) -> str:
        return f"{self.provider} ({self.created_at:%Y-%m-%d %H:%M})"


class LinkedAccount(models.Model):
    """A user's account at a provider: (provider, subject) is unique."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="linked_accounts",
        verbose_name=_("user"),
    )
    provider = models.CharField(_("provider"), max_length=50)
    subject = models.CharField(_("subject"), max_length=255)
    email = models.EmailField(_("email"), blank=True)
    profile = models.JSONField(_("profile data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("linked"), auto_now_add=True)
    last_login_at = models.DateTimeField(_("last sign-in"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("linked account")
        verbose_name_plural = _("linked accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "subject"], name="oauthkit_login_unique_subject"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.email or self.subject}"


class StoredToken(models.Model):
    """The provider's tokens for one linked account, encrypted at rest (crypto.py)."""

    account = models.OneToOneField(
        LinkedAccount, on_delete=models.CASCADE, primary_key=True, related_name="token"
    )
    access_token_encrypted = models.TextField(blank=True)
    refresh_token_encrypted = models.TextField(blank=True)
    id_token_encrypted = models.TextField(blank=True)
    token_type = models.CharField(max_length=40, blank=True)
    scope = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # A refresh in progress elsewhere (the lock row of databases without SELECT FOR UPDATE).
    refresh_lock_until = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"tokens of {self.account}"

    @staticmethod
    def _open(value: str) -> str:
        return crypto.decrypt(value) if value else ""

    @property
    def access_token(self) -> str:
        return self._open(self.access_token_encrypted)

    @property
    def refresh_token(self) -> str:
        return self._open(self.refresh_token_encrypted)

    @property
    def id_token(self) -> str:
        return self._open(self.id_token_encrypted)


class ProviderSession(models.Model):
    """Which local session a provider session (``sid``) or subject signed in, so a
    back-channel logout token ends the right sessions (OIDC Back-Channel Logout §2.7)."""

    account = models.ForeignKey(LinkedAccount, on_delete=models.CASCADE, related_name="sessions")
    sid = models.CharField(max_length=255, blank=True, db_index=True)
    session_key = models.CharField(max_length=40, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.account} session"


class UsedLogoutToken(models.Model):
    """``jti`` values of accepted logout tokens, kept until they expire (replay defence)."""

    provider = models.CharField(max_length=50)
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "jti"], name="oauthkit_login_unique_jti")
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.jti}"
