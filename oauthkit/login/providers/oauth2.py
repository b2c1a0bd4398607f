"""The generic OAuth 2 kind: sign-in with a provider that has no ID token.

The provider is described by its authorization, token and profile endpoints, and a
declarative mapping from fields of the profile endpoint's JSON answer to
:class:`~oauthkit.login.providers.base.Profile` fields, as dotted paths::

    OAUTHKIT = {"LOGIN": {"PROVIDERS": {"acme": {
        "kind": "oauth2",
        "client_id": "...", "client_secret": "...",
        "authorization_endpoint": "https://acme.example/oauth/authorize",
        "token_endpoint": "https://acme.example/oauth/token",
        "userinfo_endpoint": "https://api.acme.example/me",
        "scopes": ["profile"],
        "settings": {"profile_mapping": {"subject": "data.id", "username": "data.login"}},
    }}}}

A path segment that is a number indexes a list (``"emails.0.address"``). The subject
is always turned into a string; a profile without one is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext_lazy as _

from ..errors import ConfigurationError, InvalidUserInfo, ProviderError, ProviderUnavailable
from .base import Profile, Provider, ProviderConfig, register

if TYPE_CHECKING:
    from django.http import HttpRequest

    from ..http import ProviderHTTP
    from .base import PendingLike

#: Profile fields a mapping may name; ``email_verified`` is true only for ``True``/"true".
PROFILE_FIELDS = (
    "subject",
    "email",
    "email_verified",
    "username",
    "name",
    "given_name",
    "family_name",
    "picture",
)

_MISSING = object()


def lookup(data: Any, path: str) -> Any:
    """The value at dotted ``path`` in nested dicts/lists, or None when any step is missing."""
    value = data
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part, _MISSING)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
        if value is _MISSING:
            return None
    return value


def subject_text(value: Any) -> str:
    """The subject as a string; numbers (GitHub, Discord ids) are common. None, empty,
    booleans and objects are refused: linking accounts on them would be unsafe."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidUserInfo(_("The provider's profile has no user identifier."))
    text = str(value).strip()
    # 255: the longest subject a linked account stores (as OIDC Core §2 for `sub`).
    if not text or len(text) > 255:
        raise InvalidUserInfo(_("The provider's profile has no user identifier."))
    return text


def is_true(value: Any) -> bool:
    """A verification flag: JSON ``true`` or the string "true" (some providers send text)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def raise_for_oauth_error(body: Any) -> dict[str, Any]:
    """Refuse a token answer that is not a JSON object or carries ``error``.

    Some providers (GitHub, Slack) answer errors with status 200 (RFC 6749 §5.2 asks for
    400), so the status alone does not tell.
    """
    if not isinstance(body, dict):
        raise ProviderUnavailable()
    error = body.get("error")
    if error:
        code = error if isinstance(error, str) else "invalid_response"
        description = body.get("error_description") or code
        raise ProviderError(str(description)[:300], code=code[:64])
    return body


@register
class OAuth2Provider(Provider):
    """A plain OAuth 2 provider: the profile comes from ``userinfo_endpoint``.

    ``profile_mapping`` (class attribute, merged with the ``profile_mapping`` setting)
    maps Profile field names to dotted paths in the profile JSON. The
    ``userinfo_headers`` setting adds request headers to the profile call.
    """

    slug = "oauth2"
    name = "OAuth 2"
    kind = "oauth2"
    default_scopes: ClassVar[list[str]] = []
    profile_mapping: ClassVar[dict[str, str]] = {
        "subject": "id",
        "email": "email",
        "username": "username",
        "name": "name",
        "picture": "picture",
    }
    #: Headers of the profile request (GitHub wants its own media type).
    userinfo_headers: ClassVar[dict[str, str]] = {}

    def __init__(self, config: ProviderConfig):
        super().__init__(config)
        self.mapping()  # a misconfigured mapping fails when the provider is built

    def mapping(self) -> dict[str, str]:
        """The effective field -> path mapping; unknown field names are a configuration error."""
        mapping = {**self.profile_mapping, **(self.setting("profile_mapping") or {})}
        unknown = set(mapping) - set(PROFILE_FIELDS)
        if unknown:
            raise ConfigurationError(f"Unknown profile_mapping fields: {sorted(unknown)}.")
        if not all(isinstance(path, str | None) for path in mapping.values()):
            raise ConfigurationError("profile_mapping paths must be strings.")
        return {name: path for name, path in mapping.items() if path}

    def client_authentication(
        self, data: dict[str, str], token_endpoint: str
    ) -> tuple[dict[str, str], dict[str, str]]:
        form, headers = super().client_authentication(data, token_endpoint)
        # Some token endpoints (GitHub's) answer form-encoded unless JSON is asked for.
        return form, {"Accept": "application/json", **headers}

    def authorization_params(self, request: HttpRequest, pending: PendingLike) -> dict[str, str]:
        params = super().authorization_params(request, pending)
        if not params.get("scope"):
            del params["scope"]  # RFC 6749 §3.3: optional; the provider's default applies
        return params

    def token_request(
        self, http: ProviderHTTP, data: dict[str, str], token_endpoint: str
    ) -> dict[str, Any]:
        body = raise_for_oauth_error(super().token_request(http, data, token_endpoint))
        if not isinstance(body.get("access_token"), str) or not body["access_token"]:
            # RFC 6749 §5.1: access_token is required in a successful answer.
            raise ProviderUnavailable(code="no_access_token")
        return body

    def fetch_profile(
        self, http: ProviderHTTP, token_response: dict[str, Any], id_claims: dict[str, Any] | None
    ) -> Profile:
        """GET the profile endpoint with the access token and map its answer."""
        return self.profile_from(self.fetch_profile_data(http, token_response))

    def fetch_profile_data(
        self, http: ProviderHTTP, token_response: dict[str, Any]
    ) -> dict[str, Any]:
        """The profile endpoint's JSON object."""
        url = self.profile_url(http, token_response)
        headers = {
            **self.userinfo_headers,
            **(self.setting("userinfo_headers") or {}),
            **self.bearer(token_response),
        }
        data = http.get_json(url, headers=headers)
        if not isinstance(data, dict):
            raise InvalidUserInfo()
        return data

    def profile_url(self, http: ProviderHTTP, token_response: dict[str, Any]) -> str:
        """The URL of the profile request (``userinfo_endpoint``)."""
        url = self.endpoint("userinfo_endpoint", http)
        if not url:
            raise ConfigurationError(f"Provider {self.slug!r} lacks userinfo_endpoint.")
        return url

    def profile_from(self, data: dict[str, Any]) -> Profile:
        """Map a profile JSON object to a Profile with ``mapping()``."""
        values = {name: lookup(data, path) for name, path in self.mapping().items()}
        subject = subject_text(values.pop("subject", None))
        texts = {
            name: value if isinstance(value, str) and value else None
            for name, value in values.items()
            if name != "email_verified"
        }
        return Profile(
            subject=subject,
            **texts,
            email_verified=bool(texts.get("email") and is_true(values.get("email_verified"))),
            raw=data,
        )
