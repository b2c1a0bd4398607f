"""The provider interface of the login side, and the registry that names providers.

A provider class describes one kind of identity provider declaratively (class
attributes) and overrides a few methods where the provider departs from the
standards. An instance is built per configured provider from a
:class:`ProviderConfig` (client credentials, scopes, extra settings).

Writing a preset
================

A preset is a subclass registered under its name::

    from oauthkit.login.providers.base import Profile, Provider, register

    @register
    class ExampleProvider(Provider):
        slug = "example"                 # registry name and default URL slug
        name = "Example"                 # button label
        kind = "oauth2"                  # "oidc" (ID token) or "oauth2" (profile endpoint)
        authorization_endpoint = "https://example.com/oauth/authorize"
        token_endpoint = "https://example.com/oauth/token"
        userinfo_endpoint = "https://api.example.com/me"
        default_scopes = ["read:user"]

        def fetch_profile(self, http, token_response, id_claims):
            data = http.get_json(self.userinfo_endpoint, headers=self.bearer(token_response))
            return Profile(subject=str(data["id"]), username=data.get("login"), raw=data)

Rules of thumb:

* ``kind = "oidc"`` providers only need ``issuer`` (endpoints then come from OpenID
  Discovery, cached) or the endpoints declared statically; the ID token is validated by
  oauthkit (signature, ``iss``, ``aud``, ``nonce`` ...). Override ``expected_issuers`` when
  the issuer depends on the token (Microsoft's ``{tenantid}`` template).
* ``kind = "oauth2"`` providers must implement ``fetch_profile`` (no ID token).
* Override ``client_secret_for_token_request`` when the secret is computed (Apple: a
  signed JWT), ``authorization_params`` to add or drop request parameters, and
  ``token_request`` when the token endpoint needs an unusual request shape.
* Per-site extras (tenant, team id, key id ...) come from ``self.setting("name")``, which
  reads the ``settings`` dict of the provider's configuration.
* Never log or put tokens in exceptions; raise ``oauthkit.login.errors`` classes.

Configuration (``OAUTHKIT["LOGIN"]["PROVIDERS"]`` or the admin model) picks a class by
``"preset": "<registered name>"``, ``"kind": "oidc" | "oauth2"``, or ``"class": "dotted.path"``;
see :func:`provider_class`.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from django.urls import reverse
from django.utils.module_loading import import_string

from oauthkit.conf import oauthkit_settings

from ..auth_params import AUTH_PARAMS, OIDC_ONLY_PARAMS
from ..errors import ConfigurationError, InvalidUserInfo

if TYPE_CHECKING:
    from django.http import HttpRequest

    from ..http import ProviderHTTP

#: Class attributes a configuration may override per instance (e.g. a self-hosted GitLab).
OVERRIDABLE_ATTRIBUTES = (
    "name",
    "issuer",
    "discovery_url",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "revocation_endpoint",
    "end_session_endpoint",
    "token_endpoint_auth_method",
    "pkce",
    "extra_authorization_params",
    "id_token_signing_algs",
    "fetch_userinfo",
)

#: Authorization request parameters that the flow sets itself (RFC 6749 §4.1.1, RFC 7636
#: §4.3, OIDC Core §3.1.2.1); configured extras may not replace them.
PROTOCOL_PARAMS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    }
)

TOKEN_ENDPOINT_AUTH_METHODS = (
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
)


@dataclass
class Profile:
    """What a provider says about the person; the adapter maps it onto the user."""

    subject: str
    email: str | None = None
    email_verified: bool = False
    username: str | None = None
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    picture: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_oidc_claims(cls, claims: dict[str, Any]) -> Profile:
        """Map OpenID standard claims (OIDC Core §5.1) to a profile."""

        def text(name: str) -> str | None:
            value = claims.get(name)
            return value if isinstance(value, str) and value else None

        verified = claims.get("email_verified")
        # Some providers send "true" as a string; anything else is not verified.
        verified = verified is True or (isinstance(verified, str) and verified.lower() == "true")
        return cls(
            subject=str(claims["sub"]),
            email=text("email"),
            email_verified=bool(verified and text("email")),
            username=text("preferred_username") or text("nickname"),
            name=text("name"),
            given_name=text("given_name"),
            family_name=text("family_name"),
            picture=text("picture"),
            raw=dict(claims),
        )


@dataclass
class ProviderConfig:
    """One configured provider: where it came from does not matter past this point."""

    slug: str
    client_id: str
    client_secret: str = ""
    #: None: the class's ``default_scopes``.
    scopes: list[str] | None = None
    #: Free-form extras read with ``Provider.setting`` (tenant, team_id, private_key ...).
    settings: dict[str, Any] = field(default_factory=dict)
    #: Overrides of class attributes, limited to ``OVERRIDABLE_ATTRIBUTES``.
    overrides: dict[str, Any] = field(default_factory=dict)


class PendingLike(Protocol):
    """What ``authorization_params`` reads from the pending request (models.PendingLogin)."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    #: Optional: checked per-request parameters (``prompt``, ``max_age`` ...; auth_params.py).
    auth_params: dict[str, str]


class Provider:
    """Base class of all providers; see the module docstring for writing a preset."""

    slug: ClassVar[str] = ""
    name: ClassVar[str] = ""
    #: "oidc": an ID token is required and validated; "oauth2": profile from fetch_profile.
    kind: ClassVar[str] = "oidc"
    issuer: str | None = None
    #: None: ``issuer`` + "/.well-known/openid-configuration" (OIDC Discovery §4).
    discovery_url: str | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    jwks_uri: str | None = None
    revocation_endpoint: str | None = None
    end_session_endpoint: str | None = None
    default_scopes: ClassVar[list[str]] = ["openid", "email", "profile"]
    token_endpoint_auth_method: str = "client_secret_basic"
    #: RFC 7636 S256 on every request (RFC 9700 §2.1.1); turn off only for providers that break.
    pkce: bool = True
    #: Sent with every authorization request (e.g. {"prompt": "select_account"}).
    extra_authorization_params: dict[str, str] = {}
    #: None: the LOGIN["ALLOWED_ALGORITHMS"] setting. Asymmetric algorithms only.
    id_token_signing_algs: tuple[str, ...] | None = None
    #: OIDC: "auto" fetches UserInfo when the ID token lacks email/name; True always; False never.
    fetch_userinfo: bool | str = "auto"

    def __init__(self, config: ProviderConfig):
        if not config.client_id:
            raise ConfigurationError(code="missing_client_id")
        self.config = config
        self.slug = config.slug  # type: ignore[misc]
        for attr, value in config.overrides.items():
            if attr not in OVERRIDABLE_ATTRIBUTES:
                raise ConfigurationError(f"Unknown provider option {attr!r}.")
            setattr(self, attr, value)
        if self.token_endpoint_auth_method not in TOKEN_ENDPOINT_AUTH_METHODS:
            raise ConfigurationError(code="bad_token_endpoint_auth_method")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.slug}>"

    # -- configuration ------------------------------------------------------------------

    @property
    def client_id(self) -> str:
        return self.config.client_id

    @property
    def scopes(self) -> list[str]:
        scopes = list(self.config.scopes if self.config.scopes is not None else self.default_scopes)
        # An OpenID provider only issues an ID token for `openid` (OIDC Core §3.1.2.1).
        if self.kind == "oidc" and "openid" not in scopes:
            scopes.insert(0, "openid")
        return scopes

    def setting(self, name: str, default: Any = None) -> Any:
        """An extra from the configuration's ``settings`` dict."""
        return self.config.settings.get(name, default)

    def allowed_algorithms(self) -> tuple[str, ...]:
        """ID token signature algorithms accepted (never ``none``, never HMAC)."""
        from oauthkit.jose import SUPPORTED_ALGORITHMS

        algs = self.id_token_signing_algs or tuple(oauthkit_settings.LOGIN["ALLOWED_ALGORITHMS"])
        return tuple(a for a in algs if a in SUPPORTED_ALGORITHMS)

    # -- metadata -----------------------------------------------------------------------

    def metadata(self, http: ProviderHTTP | None = None) -> dict[str, Any]:
        """Endpoints of this provider: declared ones win over discovered ones.

        Discovery runs (cached) for ``kind="oidc"`` with an issuer whenever an endpoint
        the flow needs is not declared.
        """
        declared = {
            name: getattr(self, name)
            for name in (
                "issuer",
                "authorization_endpoint",
                "token_endpoint",
                "userinfo_endpoint",
                "jwks_uri",
                "revocation_endpoint",
                "end_session_endpoint",
            )
            if getattr(self, name)
        }
        needed = {"authorization_endpoint", "token_endpoint"}
        if self.kind == "oidc":
            needed.add("jwks_uri")
        if self.kind == "oidc" and self.issuer and not needed <= set(declared):
            from ..discovery import discover

            return {**discover(self.issuer, self.discovery_url, http=http), **declared}
        missing = needed - set(declared)
        if missing:
            raise ConfigurationError(f"Provider {self.slug!r} lacks {', '.join(sorted(missing))}.")
        return declared

    def endpoint(self, name: str, http: ProviderHTTP | None = None) -> str | None:
        """One endpoint URL (``"token_endpoint"`` ...) or None when the provider has none."""
        value = self.metadata(http).get(name)
        return value if isinstance(value, str) and value else None

    # -- authorization request -----------------------------------------------------------

    def redirect_uri(self, request: HttpRequest) -> str:
        """The callback URL registered at the provider for this site."""
        configured = self.setting("redirect_uri")
        if configured:
            return configured
        return request.build_absolute_uri(reverse("oauthkit_login:callback", args=[self.slug]))

    def authorization_params(self, request: HttpRequest, pending: PendingLike) -> dict[str, str]:
        """Query parameters of the authorization request (RFC 6749 §4.1.1).

        The configured extras come first, then the sign-in's own ``prompt``, ``max_age``,
        ``login_hint`` ... (OIDC Core §3.1.2.1), which win over them.
        """
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": pending.redirect_uri,
            "scope": " ".join(self.scopes),
            "state": pending.state,
        }
        if self.kind == "oidc":
            params["nonce"] = pending.nonce  # OIDC Core §3.1.2.1, replay defence
        if self.pkce:
            params["code_challenge"] = s256(pending.code_verifier)  # RFC 7636 §4.2
            params["code_challenge_method"] = "S256"
        for extras in (self.extra_authorization_params, self.setting("authorization_params", {})):
            extras = extras or {}
            clash = sorted(PROTOCOL_PARAMS.intersection(extras))
            if clash:
                # These carry the flow's own values (state, nonce, PKCE ...): a setting that
                # replaced one would silently undo a defence, so it is refused, not applied.
                raise ConfigurationError(
                    f"Provider {self.slug!r}: authorization params may not set {', '.join(clash)}."
                )
            params.update(extras)
        requested = getattr(pending, "auth_params", None) or {}
        if self.kind != "oidc":
            # No ID token carries auth_time or acr back: the request could not be checked.
            requested = {k: v for k, v in requested.items() if k not in OIDC_ONLY_PARAMS}
        # Allow-listed names only: never state, redirect_uri, scope ... from a request.
        params.update({k: v for k, v in requested.items() if k in AUTH_PARAMS})
        return params

    # -- token request -------------------------------------------------------------------

    def client_secret_for_token_request(self) -> str:
        """The client secret sent to the token endpoint; Apple computes a signed JWT."""
        return self.config.client_secret

    def client_authentication(
        self, data: dict[str, str], token_endpoint: str
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Add client authentication to a token/revocation request: (form data, headers)."""
        method = self.token_endpoint_auth_method
        data = dict(data)
        headers: dict[str, str] = {}
        if method == "client_secret_basic":
            # RFC 6749 §2.3.1: form-urlencode id and secret before base64.
            from urllib.parse import quote_plus

            pair = (
                f"{quote_plus(self.client_id)}:{quote_plus(self.client_secret_for_token_request())}"
            )
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        elif method == "client_secret_post":
            data["client_id"] = self.client_id
            data["client_secret"] = self.client_secret_for_token_request()
        elif method == "private_key_jwt":
            data["client_id"] = self.client_id
            data["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            data["client_assertion"] = self.client_assertion(token_endpoint)
        else:  # "none": a public client
            data["client_id"] = self.client_id
        return data, headers

    def client_assertion(self, audience: str) -> str:
        """A private_key_jwt assertion (RFC 7523 §3, OIDC Core §9) signed with ``private_key``."""
        from oauthkit import jose

        material = self.setting("private_key")
        if not material:
            raise ConfigurationError(code="missing_private_key")
        key = jose.parse_key(material, self.setting("private_key_algorithm"))
        if self.setting("private_key_id"):
            key.update({"kid": self.setting("private_key_id")})
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + 60,
        }
        return jose.sign(claims, key)

    def token_request(
        self, http: ProviderHTTP, data: dict[str, str], token_endpoint: str
    ) -> dict[str, Any]:
        """POST ``data`` (grant parameters) to the token endpoint with client authentication."""
        form, headers = self.client_authentication(data, token_endpoint)
        body = http.post_form(token_endpoint, form, headers=headers)
        if not isinstance(body, dict):
            from ..errors import ProviderUnavailable

            raise ProviderUnavailable()
        return body

    # -- identity --------------------------------------------------------------------------

    def expected_issuers(self, claims: dict[str, Any]) -> set[str]:
        """Issuer values accepted in an ID token with these (unverified) claims."""
        issuer = self.metadata().get("issuer")
        return {issuer} if issuer else set()

    def check_issuer(self, claims: dict[str, Any]) -> bool:
        """Whether the ID token's ``iss`` is one this provider may use (OIDC Core §3.1.3.7 2)."""
        return claims.get("iss") in self.expected_issuers(claims)

    def complete_profile(self, profile: Profile, params: Any) -> Profile:
        """Add what only the authorization response carries (Apple's ``user`` field) to the
        profile; ``params`` are the callback's parameters. The default changes nothing."""
        return profile

    def fetch_profile(
        self, http: ProviderHTTP, token_response: dict[str, Any], id_claims: dict[str, Any] | None
    ) -> Profile:
        """The person's profile. OIDC: the ID token's claims, merged with UserInfo when needed.

        UserInfo's ``sub`` must equal the ID token's (OIDC Core §5.3.4).
        """
        if id_claims is None:
            raise ConfigurationError(f"Provider {self.slug!r} must implement fetch_profile.")
        claims = dict(id_claims)
        url = self.endpoint("userinfo_endpoint", http)
        if url and self.wants_userinfo(id_claims) and token_response.get("access_token"):
            info = http.get_json(url, headers=self.bearer(token_response))
            if not isinstance(info, dict) or info.get("sub") != id_claims.get("sub"):
                raise InvalidUserInfo()
            claims.update({k: v for k, v in info.items() if k not in ("iss", "aud")})
        return Profile.from_oidc_claims(claims)

    def wants_userinfo(self, id_claims: dict[str, Any]) -> bool:
        if self.fetch_userinfo == "auto":
            return not ("email" in id_claims and "name" in id_claims)
        return bool(self.fetch_userinfo)

    @staticmethod
    def bearer(token_response: dict[str, Any]) -> dict[str, str]:
        """Authorization header for a call with the access token (RFC 6750 §2.1)."""
        return {"Authorization": f"Bearer {token_response['access_token']}"}


def s256(verifier: str) -> str:
    """RFC 7636 §4.2 code challenge."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# -- registry ---------------------------------------------------------------------------

_REGISTRY: dict[str, type[Provider]] = {}
#: Imported on the first lookup so that their @register decorators run.
_BUILTIN_MODULES = (
    "oauthkit.login.providers.oidc",
    "oauthkit.login.providers.oauth2",
    "oauthkit.login.providers.presets",
)
_loaded = False


def register(cls: type[Provider] | None = None, *, name: str | None = None) -> Any:
    """Register a provider class under ``name`` (default: its ``slug``). Usable as decorator."""

    def do(klass: type[Provider]) -> type[Provider]:
        key = name or klass.slug
        if not key:
            raise ValueError(f"{klass.__name__} needs a slug or a name to be registered.")
        _REGISTRY[key] = klass
        return klass

    return do(cls) if cls is not None else do


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _BUILTIN_MODULES:
        try:
            import_module(module)
        except ModuleNotFoundError as exc:
            # Only a missing built-in module is tolerated, not a broken import inside one.
            if exc.name != module:
                raise


def provider_class(kind_or_preset: str) -> type[Provider]:
    """The class registered as ``kind_or_preset`` ("oidc", "oauth2", "google" ...).

    A dotted path to a Provider subclass works too.
    """
    _load_builtins()
    try:
        return _REGISTRY[kind_or_preset]
    except KeyError:
        pass
    if "." in kind_or_preset:
        return import_string(kind_or_preset)
    raise ConfigurationError(f"Unknown provider kind or preset {kind_or_preset!r}.")


def registered() -> dict[str, type[Provider]]:
    """All registered provider classes by name."""
    _load_builtins()
    return dict(_REGISTRY)
