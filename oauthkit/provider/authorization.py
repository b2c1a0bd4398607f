"""The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3) as a checklist of steps.

``AuthorizationRequest.load`` proves the client and redirect URI first and raises
``FatalAuthorizationError`` when it cannot (the user then sees a page and is never
redirected, RFC 6749 §4.1.2.1). Every later problem is an ``OAuthError`` that may be
sent back to the proven redirect URI. A ``resource`` (RFC 8707 §2) is checked here and
stored on the code, whose tokens it becomes the audience of.

OpenID Connect adds request parameters (Core §3.1.2.1): ``prompt``, ``max_age``, ``nonce``,
``id_token_hint``, ``login_hint``, ``ui_locales``, ``acr_values`` and ``response_mode``
(``query`` or ``form_post``, OAuth 2.0 Form Post Response Mode). They are checked here;
the endpoint decides what they change (a new sign-in, the consent page, the answer's form).

While ``ALLOW_IMPLICIT_FLOW`` is on, the implicit (``token``, ``id_token``, ``id_token
token``) and hybrid (``code id_token``, ``code token``, ``code id_token token``) response
types are accepted for clients with the "implicit" grant type (and "authorization_code"
for hybrid ones): answered in the fragment or by form_post, never in the query, with a
``nonce`` required whenever an ID token is returned (OIDC Core §3.2.2.1, §3.3.2.11).
``front_channel.py`` issues their tokens.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.db.models import OuterRef, Q, Subquery
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from ..conf import oauthkit_settings
from ._oidc_parameters import (
    CODE,
    check_nonce,
    check_prompt,
    check_response_mode,
    id_token_hint_subject,
    is_front_channel,
    is_supported_response_type,
    is_web_uri,
    parse_max_age,
    parse_response_type,
)
from ._oidc_parameters import RESPONSE_MODES as RESPONSE_MODES  # kept importable from here
from .adapter import get_adapter
from .claims import parse_claims_request
from .errors import (
    FatalAuthorizationError,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from .hashing import hash_secret, new_secret
from .issuer import get_issuer
from .models import AuthorizationCode, Client, Consent, is_loopback_host
from .params import check_characters
from .pkce import check_code_challenge
from .resources import RESOURCE_PARAMETER, requested_resource
from .scopes import format_scope, resolve_scopes

#: Parameters that may appear in an authorization request and are carried through consent.
AUTHORIZATION_PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "prompt",
    "response_mode",
    "resource",
    # OpenID Connect Core §3.1.2.1, carried through the login page and the consent form.
    "max_age",
    "id_token_hint",
    "login_hint",
    "ui_locales",
    "acr_values",
    # Core §5.5; read by the claims module, carried here like the others.
    "claims",
)


def redirect_uri_matches(registered: str, requested: str) -> bool:
    """Exact string match, except any port for loopback IP literals (RFC 8252 §7.3)."""
    if registered == requested:
        return True
    reg, req = urlsplit(registered), urlsplit(requested)
    if reg.scheme != "http" or not is_loopback_host(reg.hostname or ""):
        return False
    try:
        port = req.port
    except ValueError:
        return False
    # Only the port may differ: rebuild the registered URI with the requested port and
    # compare strings, so that case, userinfo, an empty "?" or "#" all fail as elsewhere.
    host = reg.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return requested == urlunsplit(("http", netloc, reg.path, reg.query, ""))


def load_client(client_id: str, user) -> Client | None:
    """The active client, with the user's remembered consent annotated in the same query."""
    clients = Client.objects.filter(client_id=client_id, is_active=True)
    if user is not None:
        consent = Consent.objects.filter(
            Q(user=user, client=OuterRef("pk"), revoked_at__isnull=True)
            & Q(expires_at__gt=timezone.now())
        ).values("scope")[:1]
        clients = clients.annotate(remembered_scope=Subquery(consent))
    return clients.first()


@dataclass
class AuthorizationRequest:
    client: Client
    redirect_uri: str
    redirect_uri_sent: bool
    params: dict[str, str]
    raw: QueryDict | None = None
    scopes: list[str] = field(default_factory=list)
    resource: str | None = None
    max_age: int | None = None
    #: The ``sub`` of a verified ``id_token_hint``.
    hint_subject: str | None = None
    #: The parsed ``claims`` request (OIDC Core §5.5), kept on the code and its tokens.
    claims_request: dict | None = None

    @classmethod
    def load(cls, params: QueryDict, user) -> AuthorizationRequest:
        """Prove the client and redirect URI; nothing is redirected before this succeeds."""
        for name in ("client_id", "redirect_uri"):
            if len(params.getlist(name)) > 1:
                raise FatalAuthorizationError(
                    _("The %(name)s parameter is repeated.") % {"name": name}
                )
            if "\x00" in params.get(name, ""):
                raise FatalAuthorizationError(
                    _("The %(name)s parameter is invalid.") % {"name": name}
                )
        client_id = params.get("client_id")
        if not client_id:
            raise FatalAuthorizationError(_("The request has no client_id."))
        client = load_client(client_id, user)
        if client is None:
            raise FatalAuthorizationError(_("The application is not registered here."))
        requested = params.get("redirect_uri")
        if requested is None:
            # RFC 6749 §3.1.2.3: optional only when exactly one URI is registered.
            if len(client.redirect_uris) != 1:
                raise FatalAuthorizationError(_("The request has no redirect_uri."))
            redirect_uri, sent = client.redirect_uris[0], False
        else:
            if not any(redirect_uri_matches(r, requested) for r in client.redirect_uris):
                raise FatalAuthorizationError(
                    _("The redirect URI is not registered for this application.")
                )
            redirect_uri, sent = requested, True
        values = {k: params.get(k) for k in AUTHORIZATION_PARAMETERS if params.get(k) is not None}
        return cls(
            client=client,
            redirect_uri=redirect_uri,
            redirect_uri_sent=sent,
            params=values,
            raw=params,
        )

    # The checklist, in order; each step raises a specific OAuthError.
    def validate(self, issuer: str | None = None) -> None:
        """Run every check; ``issuer`` (default ``get_issuer()``) is for ``resource``."""
        check_characters(self.raw)
        self.check_repeated_parameters()
        self.check_response_type()
        self.check_client_may_use_response_type()
        self.scopes = resolve_scopes(self.client, self.params.get("scope"))
        if "id_token" in self.response_types and "openid" not in self.scopes:
            raise InvalidScope("An id_token response type needs the openid scope.")
        if "code" in self.response_types:
            # Hybrid response types too: the code is redeemed like any other.
            check_code_challenge(
                self.params.get("code_challenge"),
                self.params.get("code_challenge_method"),
                required=self.client.requires_pkce or oauthkit_settings.REQUIRE_PKCE,
            )
        issuer = issuer or get_issuer()
        self.resource = requested_resource(self.raw, self.client, issuer=issuer)
        check_prompt(self.prompt)
        self.max_age = parse_max_age(self.params.get("max_age"))
        check_nonce(self.params.get("nonce", ""))
        if "id_token" in self.response_types and not self.params.get("nonce"):
            # OIDC Core §3.2.2.1, §3.3.2.11: an ID token in the redirect needs a nonce.
            raise InvalidRequest("nonce is required when the response type has id_token.")
        self.claims_request = parse_claims_request(self.params.get("claims"))
        if "id_token_hint" in self.params:
            self.hint_subject = id_token_hint_subject(
                self.params["id_token_hint"], client_id=self.client.client_id, issuer=issuer
            )

    def check_repeated_parameters(self) -> None:
        # RFC 6749 §3.1: parameters must not be included more than once; RFC 8707 §2
        # lets `resource` repeat, which requested_resource answers with invalid_target.
        repeated = [
            k
            for k, v in self.raw.lists()
            if len(v) > 1 and k in AUTHORIZATION_PARAMETERS and k != RESOURCE_PARAMETER
        ]
        if repeated:
            raise InvalidRequest(f"Repeated parameter: {', '.join(sorted(repeated))}.")

    def check_response_type(self) -> None:
        response_type = self.params.get("response_type")
        if not response_type:
            raise InvalidRequest("response_type is required.")
        # Implicit and hybrid ones only while ALLOW_IMPLICIT_FLOW is on (RFC 9700 §2.1.2).
        if not is_supported_response_type(self.response_types):
            raise UnsupportedResponseType(f"Unsupported response_type: {response_type}.")
        front_channel = self.front_channel
        default_mode = "fragment" if front_channel else "query"
        check_response_mode(
            self.params.get("response_mode", default_mode),
            self.redirect_uri,
            front_channel=front_channel,
        )

    def check_client_may_use_response_type(self) -> None:
        types = self.response_types
        if "code" in types and not self.client.allows_grant_type("authorization_code"):
            raise UnauthorizedClient("This client may not use the authorization code grant.")
        # OIDC Registration §2: token and id_token response types need the implicit grant.
        if types != CODE and not self.client.allows_grant_type("implicit"):
            raise UnauthorizedClient("This client may not use the implicit flow.")

    @property
    def response_types(self) -> frozenset[str]:
        """The values of ``response_type`` as a set (empty when malformed)."""
        return parse_response_type(self.params.get("response_type")) or frozenset()

    @property
    def front_channel(self) -> bool:
        """Whether this is a supported implicit or hybrid request (tokens in the redirect)."""
        return is_front_channel(self.response_types)

    @property
    def state(self) -> str | None:
        return self.params.get("state")

    @property
    def prompt(self) -> set[str]:
        return set(self.params.get("prompt", "").split())

    @property
    def response_mode(self) -> str:
        """How to answer: "form_post" only when validly requested (also for errors), else
        "fragment" for implicit and hybrid requests (RFC 6749 §4.2.2.1; Multiple Response
        Types §5: never the query) and "query" for the code flow."""
        modes = self.raw.getlist("response_mode") if self.raw is not None else []
        if modes == ["form_post"] and is_web_uri(self.redirect_uri):
            return "form_post"
        return "fragment" if self.front_channel else "query"

    @property
    def ui_locales(self) -> list[str]:
        """The user's preferred languages, best first (OIDC Core §3.1.2.1)."""
        return self.params.get("ui_locales", "").split()

    @property
    def acr_values(self) -> list[str]:
        """Requested authentication context classes; passed to templates only."""
        return self.params.get("acr_values", "").split()

    def subject(self, user) -> str:
        """The ``sub`` this client knows ``user`` by."""
        return get_adapter().get_client_subject(user, self.client)

    def identity_assured(self) -> bool:
        """Whether the redirect URI proves the client: https, or a confidential client.

        RFC 8252 §8.6: a loopback or private-use-scheme redirect URI can be claimed by
        any app on the device, so a public client using one is not trusted silently.
        """
        if self.client.client_type != Client.ClientType.PUBLIC:
            return True
        return urlsplit(self.redirect_uri).scheme == "https"

    def consent_stored(self) -> bool:
        """The user granted these scopes before (and has not revoked the consent)."""
        remembered = getattr(self.client, "remembered_scope", None)
        return remembered is not None and set(self.scopes) <= set(remembered.split())

    def consent_remembered(self) -> bool:
        """The consent page may be skipped (``prompt=consent`` aside)."""
        if self.client.skip_consent:
            return True
        return self.consent_stored() and self.identity_assured()

    def remember_consent(self, user, declined: list[str] | None = None) -> None:
        """Store the granted scopes, adding to what the user granted before; scopes the
        user ``declined`` this time are dropped from what they granted before."""
        remembered = getattr(self.client, "remembered_scope", None) or ""
        kept = [s for s in remembered.split() if s not in (declined or [])]
        scopes = list(dict.fromkeys(kept + self.scopes))
        Consent.objects.update_or_create(
            user=user,
            client=self.client,
            defaults={
                "scope": format_scope(scopes),
                "expires_at": timezone.now() + oauthkit_settings.CONSENT_LIFETIME,
                "revoked_at": None,
            },
        )

    def issue_code(
        self,
        user,
        auth_time: datetime | None,
        sid: str | None = None,
        grant_id: uuid.UUID | None = None,
    ) -> str:
        """Store a hashed, short-lived, single-use code; return the raw code. ``sid`` is
        the provider session, carried into the grant's ID tokens; ``grant_id`` ties the
        code to tokens issued with it in a hybrid response (a replay revokes them too)."""
        raw = new_secret(32)
        now = timezone.now()
        AuthorizationCode.objects.create(
            code_hash=hash_secret(raw),
            client=self.client,
            user=user,
            redirect_uri=self.redirect_uri,
            redirect_uri_sent=self.redirect_uri_sent,
            scope=format_scope(self.scopes),
            resource=self.resource or "",
            code_challenge=self.params.get("code_challenge", ""),
            code_challenge_method=self.params.get("code_challenge_method", "plain")
            if self.params.get("code_challenge")
            else "",
            nonce=self.params.get("nonce", ""),
            claims=self.claims_request,
            auth_time=auth_time,
            sid=sid or "",
            grant_id=grant_id or uuid.uuid4(),
            created=now,
            expires_at=now + oauthkit_settings.AUTHORIZATION_CODE_LIFETIME,
        )
        return raw

    def response_values(self, values: dict[str, str], issuer: str) -> dict[str, str]:
        """The response parameters with ``state`` and ``iss`` added."""
        values = dict(values)
        if self.state is not None:
            values["state"] = self.state
        values["iss"] = issuer  # RFC 9207 §2
        return values

    def response_uri(self, values: dict[str, str], issuer: str) -> str:
        """The redirect URI with the response parameters, ``state`` and ``iss`` added: in
        the fragment for implicit and hybrid requests, else in the query."""
        values = self.response_values(values, issuer)
        parts = urlsplit(self.redirect_uri)
        if self.response_mode == "fragment":
            # Registered redirect URIs have no fragment (models.redirect_uri_errors).
            return urlunsplit((*parts[:4], urlencode(values)))
        query = f"{parts.query}&{urlencode(values)}" if parts.query else urlencode(values)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))

    def error_uri(self, error: OAuthError, issuer: str) -> str:
        return self.response_uri(error.as_dict(), issuer)
