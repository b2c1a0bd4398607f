"""The provider's records: clients, codes, tokens, consents and signing keys.

Secrets (client secrets, codes, refresh tokens, opaque access tokens) are stored
only as SHA-256 hashes (``hashing.py``). Every token carries the ``grant_id`` of
the authorization it descends from, so a whole chain (a code and every token
issued from it, a refresh-token family) is revoked with one UPDATE.
"""

from __future__ import annotations

import ipaddress
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..conf import oauthkit_settings
from ..revocation import publish_revocations
from .hashing import hash_secret, new_secret, secret_matches


def generate_client_id() -> str:
    # Never all digits, so that a client_id cannot equal a user's numeric `sub`
    # (security checklist 12).
    return "ok_" + new_secret(18)


class Client(models.Model):
    """A registered OAuth client (RFC 6749 §2)."""

    class ClientType(models.TextChoices):
        CONFIDENTIAL = "confidential", _("Confidential")
        PUBLIC = "public", _("Public")

    class AuthMethod(models.TextChoices):
        CLIENT_SECRET_BASIC = "client_secret_basic", "client_secret_basic"
        CLIENT_SECRET_POST = "client_secret_post", "client_secret_post"
        # RFC 7523 §2.2, OIDC Core §9: a JWT signed with the client's private key.
        PRIVATE_KEY_JWT = "private_key_jwt", "private_key_jwt"
        NONE = "none", _("none (public client)")

    class TokenFormat(models.TextChoices):
        DEFAULT = "", _("Site default")
        JWT = "jwt", _("JWT (RFC 9068)")
        OPAQUE = "opaque", _("Opaque")

    client_id = models.CharField(
        _("client ID"), max_length=100, unique=True, default=generate_client_id
    )
    secret_hash = models.CharField(_("secret hash"), max_length=64, blank=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    logo_uri = models.URLField(_("logo URL"), blank=True)
    client_type = models.CharField(
        _("client type"), max_length=20, choices=ClientType.choices, default=ClientType.CONFIDENTIAL
    )
    redirect_uris = models.JSONField(_("redirect URIs"), default=list, blank=True)
    grant_types = models.JSONField(_("grant types"), default=list, blank=True)
    scopes = models.JSONField(
        _("allowed scopes"),
        default=list,
        blank=True,
        help_text=_("Scopes this client may request; empty allows every configured scope."),
    )
    default_scopes = models.JSONField(
        _("default scopes"),
        default=list,
        blank=True,
        help_text=_("Granted when a request names no scope; empty uses DEFAULT_SCOPES."),
    )
    token_endpoint_auth_method = models.CharField(
        _("token endpoint authentication method"),
        max_length=40,
        choices=AuthMethod.choices,
        default=AuthMethod.CLIENT_SECRET_BASIC,
    )
    # OIDC Registration §2: the client's public keys, for private_key_jwt (one of the two).
    jwks = models.JSONField(
        _("JSON Web Key Set"),
        null=True,
        blank=True,
        help_text=_(
            'The client\'s public keys as a JWK Set, {"keys": [...]}; never private keys. '
            "For private_key_jwt when the client publishes no JWKS URL."
        ),
    )
    jwks_uri = models.URLField(
        _("JWKS URL"),
        max_length=500,
        blank=True,
        help_text=_(
            "Where the client publishes its public keys (https); fetched and cached a few "
            "minutes, and again when an assertion names a key not seen yet."
        ),
    )
    token_endpoint_auth_signing_alg = models.CharField(
        _("token endpoint authentication signing algorithm"),
        max_length=10,
        blank=True,
        choices=[("", _("Any supported")), *((a, a) for a in ("RS256", "PS256", "ES256", "EdDSA"))],
        help_text=_("OIDC Registration §2: the only algorithm accepted for its assertions."),
    )
    require_pkce = models.BooleanField(
        _("require PKCE"), default=True, help_text=_("Always on for public clients.")
    )
    skip_consent = models.BooleanField(
        _("skip consent"), default=False, help_text=_("For first-party clients only.")
    )
    access_token_format = models.CharField(
        _("access token format"), max_length=10, choices=TokenFormat.choices, blank=True
    )
    allowed_resources = models.JSONField(
        _("allowed resources"),
        default=list,
        blank=True,
        help_text=_(
            "Absolute URIs of the APIs this client may request tokens for with the resource "
            "parameter (RFC 8707); each becomes the token's audience."
        ),
    )
    subject_type = models.CharField(
        _("subject type"),
        max_length=10,
        choices=[("public", _("public")), ("pairwise", _("pairwise"))],
        default="public",
        help_text=_("OpenID Connect Core §8: pairwise gives each sector its own user ids."),
    )
    sector_identifier_uri = models.URLField(
        _("sector identifier URI"),
        blank=True,
        help_text=_(
            "Pairwise clients sharing a sector get the same subjects; its host is the sector. "
            "Without it, the host of the redirect URIs (which must then be one host)."
        ),
    )
    id_token_signed_response_alg = models.CharField(
        _("ID token signing algorithm"),
        max_length=10,
        choices=[(a, a) for a in ("RS256", "PS256", "ES256", "EdDSA")],
        default="RS256",
        help_text=_("OpenID Connect Registration §2; a key of this algorithm must exist."),
    )
    post_logout_redirect_uris = models.JSONField(
        _("post-logout redirect URIs"),
        default=list,
        blank=True,
        help_text=_("RP-Initiated Logout §3.1: where users may be sent after signing out."),
    )
    backchannel_logout_uri = models.URLField(
        _("back-channel logout URI"),
        max_length=500,
        blank=True,
        help_text=_("Back-Channel Logout §2.2: receives a logout token when a session ends."),
    )
    can_introspect = models.BooleanField(
        _("may introspect any token"),
        default=False,
        help_text=_("For resource servers; any confidential client may introspect its own tokens."),
    )
    required_scopes = models.JSONField(
        _("required scopes"),
        default=list,
        blank=True,
        help_text=_(
            "Scopes the user cannot untick on the consent page; every other requested "
            "scope is optional. `openid` is always required when requested."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="oauthkit_clients",
    )
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        permissions = [("register_client", _("Can register clients on the developer pages"))]
        # No default ordering: the hot path looks clients up by a unique key, where an
        # ORDER BY only costs; lists order explicitly (the admin by name).

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    @property
    def is_public(self) -> bool:
        return self.client_type == self.ClientType.PUBLIC

    @property
    def requires_pkce(self) -> bool:
        return self.is_public or self.require_pkce

    def set_new_secret(self) -> str:
        """Generate a secret, store its hash, return the raw value (shown once)."""
        raw = new_secret(32)
        self.secret_hash = hash_secret(raw)
        return raw

    def set_secret(self, raw: str) -> None:
        self.secret_hash = hash_secret(raw)

    def check_secret(self, raw: str) -> bool:
        return secret_matches(raw, self.secret_hash)

    def allows_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.client_id and self.client_id.isdigit():
            # Checklist 12: a client_id must never equal a user's (numeric) `sub`.
            errors["client_id"] = [_("A client ID must not consist of digits only.")]
        uri_errors = [e for uri in self.redirect_uris or [] for e in redirect_uri_errors(uri)]
        if not isinstance(self.redirect_uris, list):
            uri_errors.append(_("Enter a list of redirect URIs."))
        if uri_errors:
            errors["redirect_uris"] = uri_errors
        logout_errors = [
            e for uri in self.post_logout_redirect_uris or [] for e in redirect_uri_errors(uri)
        ]
        if not isinstance(self.post_logout_redirect_uris, list):
            logout_errors.append(_("Enter a list of redirect URIs."))
        if logout_errors:
            errors["post_logout_redirect_uris"] = logout_errors
        if self.backchannel_logout_uri:
            backchannel_errors = backchannel_logout_uri_errors(self.backchannel_logout_uri)
            if backchannel_errors:
                errors["backchannel_logout_uri"] = backchannel_errors
        # Imported here: resources.py reaches tokens.py, which imports this module.
        from .resources import resource_list_errors

        resource_errors = resource_list_errors(self.allowed_resources)
        if resource_errors:
            errors["allowed_resources"] = resource_errors
        public_method = self.token_endpoint_auth_method == self.AuthMethod.NONE
        if self.is_public and not public_method:
            errors["token_endpoint_auth_method"] = [_("A public client authenticates with none.")]
        if not self.is_public and public_method:
            errors["token_endpoint_auth_method"] = [
                _("A confidential client needs a secret or a private key (private_key_jwt).")
            ]
        errors.update(self._key_errors())
        if self.subject_type == "pairwise" and not self.sector_identifier_uri:
            hosts = {urlsplit(u).hostname for u in self.redirect_uris or [] if isinstance(u, str)}
            if len(hosts) > 1:
                # OIDC Core §8.1: several hosts need a sector_identifier_uri.
                errors["sector_identifier_uri"] = [
                    _("Redirect URIs on several hosts need a sector identifier URI.")
                ]
        if self.is_public and "client_credentials" in (self.grant_types or []):
            errors["grant_types"] = [_("A public client cannot use client_credentials.")]
        if errors:
            raise ValidationError(errors)

    def _key_errors(self) -> dict[str, list[str]]:
        """The registered public keys (OIDC Registration §2), by field name."""
        # Imported here: client_jwks.py imports this module.
        from .client_jwks import jwks_errors

        errors: dict[str, list[str]] = {}
        if self.jwks is not None:
            messages = jwks_errors(self.jwks)
            if messages:
                errors["jwks"] = messages
        if self.jwks_uri:
            messages = jwks_uri_errors(self.jwks_uri)
            if messages:
                errors["jwks_uri"] = messages
        if self.jwks is not None and self.jwks_uri:
            # OIDC Registration §2: jwks and jwks_uri must not both be present.
            errors.setdefault("jwks", []).append(_("Register either a JWK Set or a JWKS URL."))
        uses_keys = self.token_endpoint_auth_method == self.AuthMethod.PRIVATE_KEY_JWT
        if uses_keys and self.jwks is None and not self.jwks_uri:
            errors["jwks_uri"] = [_("A private_key_jwt client needs a JWK Set or a JWKS URL.")]
        return errors


def redirect_uri_errors(uri: str) -> list[str]:
    """What is wrong with a redirect URI at registration (RFC 6749 §3.1.2, RFC 8252 §7)."""
    if not isinstance(uri, str) or not uri:
        return [_("A redirect URI must be a non-empty string.")]
    parts = urlsplit(uri)
    if not parts.scheme:
        return [_("%(uri)s is not an absolute URI.") % {"uri": uri}]
    if parts.scheme in ("http", "https") and not parts.hostname:
        return [_("%(uri)s has no host.") % {"uri": uri}]
    if parts.fragment or "#" in uri:
        return [_("%(uri)s must not contain a fragment.") % {"uri": uri}]
    if parts.scheme == "http":
        if not is_loopback_host(parts.hostname or "") and parts.hostname != "localhost":
            return [_("%(uri)s: plain http is allowed only for loopback.") % {"uri": uri}]
    elif parts.scheme != "https" and "." not in parts.scheme:
        # RFC 8252 §7.1: private-use schemes are reverse-domain names.
        return [_("%(uri)s: a private-use scheme must contain a dot.") % {"uri": uri}]
    return []


def backchannel_logout_uri_errors(uri: str) -> list[str]:
    """What is wrong with a back-channel logout URI (Back-Channel Logout §2.2): the rules of
    redirect URIs, and a web address, since the provider POSTs to it."""
    errors = redirect_uri_errors(uri)
    if not errors and urlsplit(uri).scheme not in ("http", "https"):
        errors = [_("%(uri)s must be an https URI.") % {"uri": uri}]
    return errors


def jwks_uri_errors(uri: str) -> list[str]:
    """What is wrong with a client's JWKS URL (OIDC Registration §2): https, or plain http
    on a loopback host as for redirect URIs, since the provider fetches it."""
    errors = redirect_uri_errors(uri)
    if not errors and urlsplit(uri).scheme not in ("http", "https"):
        errors = [_("%(uri)s must be an https URL.") % {"uri": uri}]
    return errors


def is_loopback_host(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class TokenQuerySet(models.QuerySet):
    def active(self) -> TokenQuerySet:
        """Tokens neither expired nor revoked."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())

    def revoke(self) -> int:
        """Revoke every token here that is not already revoked; returns the count."""
        return self.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


class AccessTokenQuerySet(TokenQuerySet):
    def revoke(self) -> int:
        """Revoke, and put revoked JWT ids on the shared revocation list when one is set."""
        if not oauthkit_settings.REVOCATION_CACHE:
            return super().revoke()
        pending = list(self.filter(revoked_at__isnull=True).values_list("pk", "jti", "expires_at"))
        count = AccessToken.objects.filter(pk__in=[pk for pk, _, _ in pending]).update(
            revoked_at=timezone.now()
        )
        # Written before commit: a rollback leaves a token listed as revoked, which fails safe.
        publish_revocations((jti, expires_at) for _, jti, expires_at in pending)
        return count


class GrantedRecord(models.Model):
    """Fields shared by codes and tokens."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    scope = models.TextField(_("scope"), blank=True)
    grant_id = models.UUIDField(_("grant"), default=uuid.uuid4, db_index=True)
    # The OpenID Connect `claims` request (Core §5.5) this grant carries, if any.
    claims = models.JSONField(null=True, blank=True)
    created = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), db_index=True)

    class Meta:
        abstract = True

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class AuthorizationCode(GrantedRecord):
    """A code issued by the authorization endpoint (RFC 6749 §4.1.2), single use."""

    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    redirect_uri = models.TextField()
    # RFC 6749 §4.1.3: redirect_uri must be repeated at the token endpoint when sent here.
    redirect_uri_sent = models.BooleanField(default=True)
    # RFC 8707 §2: the resource named at the authorization endpoint, the tokens' audience.
    resource = models.TextField(_("resource"), blank=True)
    code_challenge = models.CharField(max_length=128, blank=True)
    code_challenge_method = models.CharField(max_length=10, blank=True)
    nonce = models.TextField(blank=True)
    auth_time = models.DateTimeField(null=True, blank=True)
    # The provider session the code was issued in (Back-Channel Logout §2.1), or "".
    sid = models.CharField(max_length=64, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    objects = TokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("authorization code")
        verbose_name_plural = _("authorization codes")

    def __str__(self) -> str:
        return f"{self.client_id}:{self.grant_id}"


class Token(GrantedRecord):
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = TokenQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        """Usable: not revoked, not expired, and its client and user still active."""
        return (
            self.revoked_at is None
            and not self.is_expired
            and self.client.is_active
            and (self.user is None or self.user.is_active)
        )


class AccessToken(Token):
    """Every issued access token has a row, so it can be introspected and revoked."""

    jti = models.CharField(_("JWT ID"), max_length=64, unique=True)
    # Only opaque tokens are looked up by hash; a JWT is found by its jti.
    token_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)
    audience = models.TextField(_("audience"), blank=True)

    objects = AccessTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("access token")
        verbose_name_plural = _("access tokens")

    def __str__(self) -> str:
        return self.jti


class RefreshToken(Token):
    """A refresh token; ``grant_id`` is its family (RFC 9700 §4.14.2)."""

    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    auth_time = models.DateTimeField(null=True, blank=True)
    # The provider session of the grant: its ID tokens carry it as ``sid``.
    sid = models.CharField(max_length=64, blank=True)
    rotated_at = models.DateTimeField(_("rotated"), null=True, blank=True)
    # RFC 8707 §2.2: the resource the grant was authorized for, if one was named; its
    # refreshes get tokens for that resource only. Empty: any the client may use.
    resource = models.TextField(_("resource"), blank=True)

    class Meta:
        verbose_name = _("refresh token")
        verbose_name_plural = _("refresh tokens")

    def __str__(self) -> str:
        return f"{self.client_id}:{self.grant_id}"

    @property
    def is_active(self) -> bool:
        # A rotated refresh token can never be used again (RFC 9700 §4.14.2).
        return self.rotated_at is None and super().is_active


class Consent(models.Model):
    """Scopes a user granted a client; remembered so the consent page is not shown again."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="consents")
    scope = models.TextField(_("scope"), blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)
    expires_at = models.DateTimeField(_("expires"), db_index=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(fields=["user", "client"], name="oauthkit_consent_user_client")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.client.name}"

    def covers(self, scopes: list[str]) -> bool:
        if self.revoked_at is not None or self.expires_at <= timezone.now():
            return False
        return set(scopes) <= set(self.scope.split())


class DeviceAuthorization(GrantedRecord):
    """A device authorization request (RFC 8628 §3.1-3.5).

    ``user`` and ``scope`` (the granted scopes, which may be fewer than requested) are
    set when the user approves on the verification page. The device code and the user
    code are stored only as hashes. The device code is consumed (``used_at``) with a
    conditional update, so two racing polls cannot both receive tokens.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        DENIED = "denied", _("Denied")

    device_code_hash = models.CharField(max_length=64, unique=True, editable=False)
    # Hash of the normalized user code (upper case, no dash).
    user_code_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The scopes the device asked for; ``scope`` holds what the user granted.
    requested_scope = models.TextField(_("requested scope"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # RFC 8628 §3.5: the current minimum polling interval in seconds (grows on slow_down).
    interval = models.PositiveIntegerField(_("interval"), default=5)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    # RFC 8707 §2: the resource the device asked for, the tokens' audience.
    resource = models.TextField(_("resource"), blank=True)
    auth_time = models.DateTimeField(null=True, blank=True)
    sid = models.CharField(max_length=64, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("device authorization")
        verbose_name_plural = _("device authorizations")

    def __str__(self) -> str:
        return f"{self.client_id}:{self.grant_id}"


class LogoutSession(models.Model):
    """A client that received an ID token in a provider session (``sid``), to be told by
    a logout token when that session ends (Back-Channel Logout §2.5). Rows are deleted
    once the logout tokens are sent."""

    sid = models.CharField(_("session ID"), max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("logout session")
        verbose_name_plural = _("logout sessions")
        constraints = [
            models.UniqueConstraint(fields=["sid", "client"], name="oauthkit_logout_sid_client")
        ]

    def __str__(self) -> str:
        return f"{self.sid} → {self.client_id}"


class SigningKey(models.Model):
    """A private signing key generated by ``manage.py rotatekeys``.

    The newest active key signs; retired keys stay published in the JWKS until every
    token they signed has expired.
    """

    kid = models.CharField(_("key ID"), max_length=64, unique=True)
    algorithm = models.CharField(_("algorithm"), max_length=10)
    private_jwk = models.TextField(editable=False)
    created = models.DateTimeField(_("created"), default=timezone.now)
    active = models.BooleanField(_("active"), default=True)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.kid} ({self.algorithm})"


class UsedClientAssertion(models.Model):
    """The ``jti`` of a client assertion already accepted (RFC 7523 §3 item 7), kept until
    the assertion expires so that it cannot be replayed. The insert is the check: the
    unique constraint makes two racing requests with one assertion fail but one."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    # SHA-256 of the jti: the client chooses it, so its length is not ours to bound.
    jti_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField(_("expires"), db_index=True)

    class Meta:
        verbose_name = _("used client assertion")
        verbose_name_plural = _("used client assertions")
        constraints = [
            models.UniqueConstraint(
                fields=["client", "jti_hash"], name="oauthkit_used_assertion_client_jti"
            )
        ]

    def __str__(self) -> str:
        return f"{self.client_id}:{self.jti_hash[:12]}"
