"""Sign in with Microsoft (Entra ID, work/school and personal accounts; OpenID Connect)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ...errors import ConfigurationError
from ..base import Profile, Provider, register
from ..oauth2 import is_true

if TYPE_CHECKING:
    from ...http import ProviderHTTP
    from ..base import ProviderConfig


_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: The tenant of personal Microsoft accounts (the "consumers" audience).
CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
MULTI_TENANT = ("common", "organizations", "consumers")


@register
class MicrosoftProvider(Provider):
    """Microsoft Entra ID. Settings: ``tenant`` ("common" by default, "organizations",
    "consumers" or a directory (tenant) ID), optional ``allowed_tenants`` (tenant IDs)
    and ``authority`` (another cloud's login host).

    Issuer rule: the multi-tenant discovery document names the issuer
    ``https://login.microsoftonline.com/{tenantid}/v2.0``; a token's ``iss`` must equal
    that template with the token's own ``tid`` put in, and ``tid`` must be the configured
    tenant (or an allowed one). The email is treated as unverified (Entra lets tenant
    admins set any address) unless ``xms_edov`` or ``verified_primary_email`` /
    ``verified_secondary_email`` in the ID token vouch for it.
    """

    slug = "microsoft"
    name = "Microsoft"
    issuer = "{authority}/{tenant}/v2.0"
    authorization_endpoint = "{authority}/{tenant}/oauth2/v2.0/authorize"
    token_endpoint = "{authority}/{tenant}/oauth2/v2.0/token"
    jwks_uri = "{authority}/{tenant}/discovery/v2.0/keys"
    end_session_endpoint = "{authority}/{tenant}/oauth2/v2.0/logout"
    userinfo_endpoint = "https://graph.microsoft.com/oidc/userinfo"

    def __init__(self, config: ProviderConfig):
        super().__init__(config)
        tenant = str(self.setting("tenant", "common")).lower()
        if tenant not in MULTI_TENANT and not _GUID.fullmatch(tenant):
            raise ConfigurationError(
                "Microsoft: tenant must be a tenant ID or " + "/".join(MULTI_TENANT)
            )
        self.tenant = tenant
        authority = str(self.setting("authority", "https://login.microsoftonline.com")).rstrip("/")
        # The discovery document of a multi-tenant endpoint names "{tenantid}" as issuer.
        values = {"{authority}": authority, "{tenant}": tenant}
        for attr in (
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "end_session_endpoint",
        ):
            setattr(self, attr, _fill(getattr(self, attr), values))
        issuer_tenant = tenant if _GUID.fullmatch(tenant) else "{tenantid}"
        self.issuer = _fill(self.issuer, {**values, "{tenant}": issuer_tenant})

    def tenant_allowed(self, tid: str) -> bool:
        """Whether a token of directory ``tid`` may sign in with this configuration."""
        allowed = self.setting("allowed_tenants")
        if allowed is not None and tid not in {str(t).lower() for t in allowed}:
            return False
        if self.tenant == "consumers":
            return tid == CONSUMERS_TENANT_ID
        if self.tenant == "organizations":
            return tid != CONSUMERS_TENANT_ID
        return self.tenant == "common" or tid == self.tenant

    def expected_issuers(self, claims: dict[str, Any]) -> set[str]:
        tid = claims.get("tid")
        if not isinstance(tid, str) or not _GUID.fullmatch(tid) or not self.tenant_allowed(tid):
            return set()
        return {self.issuer.replace("{tenantid}", tid)} if self.issuer else set()

    def fetch_profile(
        self, http: ProviderHTTP, token_response: dict[str, Any], id_claims: dict[str, Any] | None
    ) -> Profile:
        profile = super().fetch_profile(http, token_response, id_claims)
        profile.email_verified = email_vouched_for(id_claims or {}, profile.email)
        return profile


def email_vouched_for(claims: dict[str, Any], email: str | None) -> bool:
    """Whether the ID token itself vouches for ``email``; a bare ``email_verified`` or
    ``preferred_username`` does not (Entra has no verified-email guarantee by default)."""
    if not email:
        return False
    if claims.get("email") == email and is_true(claims.get("xms_edov")):
        return True
    vouched = []
    for name in ("verified_primary_email", "verified_secondary_email"):
        value = claims.get(name)
        vouched += value if isinstance(value, list) else [value]
    return any(isinstance(v, str) and v.lower() == email.lower() for v in vouched)


def _fill(template: str | None, values: dict[str, str]) -> str | None:
    if template is None:
        return None
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    return template
