"""The authorization code flow of the relying party: start (pending request) and finish
(callback checks, code exchange, ID token, profile).

The pending request lives in the database, keyed by a hash of ``state`` and bound to the
browser through a random value in its session; it is consumed with a conditional UPDATE,
so a replayed or raced callback fails (RFC 6749 §10.12, RFC 9700 §4.7).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.core.cache import caches
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from oauthkit.conf import oauthkit_settings

from .auth_params import AUTH_PARAMS, parse_max_age
from .auth_params import parse as parse_auth_params
from .errors import (
    ConfigurationError,
    InvalidState,
    InvalidUserInfo,
    IssuerMismatch,
    LoginError,
    ProviderError,
    ProviderUnavailable,
)
from .http import ProviderHTTP
from .id_token import validate_id_token
from .models import PendingLogin
from .providers.base import Profile, Provider

BROWSER_SESSION_KEY = "_oauthkit_login_browser"
logger = logging.getLogger("oauthkit.login")


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _browser_secret(request: HttpRequest, *, create: bool) -> str | None:
    value = request.session.get(BROWSER_SESSION_KEY)
    if value is None and create:
        value = secrets.token_urlsafe(32)
        request.session[BROWSER_SESSION_KEY] = value
    return value


@dataclass
class SignInResult:
    """What a finished callback knows: who, from where, and the provider's tokens."""

    provider: Provider
    pending: PendingLogin
    profile: Profile
    token_response: dict[str, Any]
    id_claims: dict[str, Any] | None


def begin(
    request: HttpRequest,
    provider: Provider,
    *,
    purpose: str = PendingLogin.Purpose.LOGIN,
    next_url: str = "",
    auth_params: Mapping[str, str] | None = None,
    http: ProviderHTTP | None = None,
) -> str:
    """Create the pending request and return the provider's authorization URL.

    ``auth_params``: ``prompt``, ``max_age``, ``login_hint``, ``ui_locales``,
    ``acr_values`` for this sign-in (OIDC Core §3.1.2.1), checked here
    (:class:`~.errors.InvalidAuthParameter`); they win over the provider's configured
    extras. The ``max_age`` sent is remembered and checked against ``auth_time``.
    """
    requested = _checked_auth_params(auth_params or {})
    http = http or ProviderHTTP()
    metadata = provider.metadata(http)
    state = secrets.token_urlsafe(32)
    now = timezone.now()
    # Expired requests are useless; dropping them here needs no cron job.
    PendingLogin.objects.filter(expires_at__lt=now).delete()
    pending = PendingLogin(
        state_hash=_sha256(state),
        browser_hash=_sha256(_browser_secret(request, create=True)),
        provider=provider.slug,
        purpose=purpose,
        user=request.user if purpose == PendingLogin.Purpose.CONNECT else None,
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),  # RFC 7636 §4.1: 43-128 characters
        redirect_uri=provider.redirect_uri(request),
        # RFC 9207 §2.4: remember whom we asked, to check whom the answer claims to be from.
        expected_issuer=metadata.get("issuer") or "",
        next_url=next_url,
        created_at=now,
        expires_at=now + oauthkit_settings.LOGIN["PENDING_LIFETIME"],
    )
    pending.state = state
    pending.auth_params = requested
    params = provider.authorization_params(request, pending)
    pending.max_age = _sent_max_age(provider, params)
    pending.save(force_insert=True)
    return _with_query(metadata["authorization_endpoint"], params)


def _checked_auth_params(given: Mapping[str, str]) -> dict[str, str]:
    unknown = set(given) - set(AUTH_PARAMS)
    if unknown:
        # A programming error of the caller, not a bad request.
        raise ValueError(f"Unknown authentication parameters: {', '.join(sorted(unknown))}")
    return parse_auth_params(
        {name: [str(value)] for name, value in given.items() if value is not None}
    )


def _sent_max_age(provider: Provider, params: Mapping[str, Any]) -> int | None:
    """The max_age the request carries (the sign-in's or a configured one), when an ID
    token will answer it; the callback then requires a recent enough ``auth_time``."""
    if provider.kind != "oidc" or params.get("max_age") in (None, ""):
        return None
    try:
        return parse_max_age(params["max_age"])
    except ValueError:
        raise ConfigurationError(
            f"Provider {provider.slug!r}: max_age must be a non-negative integer."
        ) from None


def retry_params(pending: PendingLogin) -> dict[str, str]:
    """What a "Try again" link repeats of this sign-in: the step-up's ``max_age``.

    ``prompt`` is not repeated: after a ``prompt=none`` answer (``login_required`` ...)
    the retry is the interactive sign-in the person now needs.
    """
    return {"max_age": str(pending.max_age)} if pending.max_age is not None else {}


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


def consume_pending(request: HttpRequest, provider: Provider, params: QueryDict) -> PendingLogin:
    """The pending request named by ``state``, checked and used up; InvalidState otherwise."""
    state = params.get("state")
    if not state:
        raise InvalidState(_("The provider's answer has no state."), code="state_missing")
    pending = PendingLogin.objects.filter(state_hash=_sha256(state)).first()
    if pending is None or pending.provider != provider.slug:
        raise InvalidState(code="state_unknown")
    browser = _browser_secret(request, create=False)
    if browser is None or not hmac.compare_digest(_sha256(browser), pending.browser_hash):
        # Someone else's state (login CSRF): refuse without using it up.
        raise InvalidState(
            _("This sign-in was started in another browser. Start again here."),
            code="state_other_browser",
        )
    now = timezone.now()
    if pending.expires_at <= now:
        raise InvalidState(code="state_expired")
    used = PendingLogin.objects.filter(pk=pending.pk, used_at=None).update(used_at=now)
    if used != 1:
        raise InvalidState(code="state_reused")
    return pending


def check_response_issuer(
    provider: Provider, pending: PendingLogin, params: QueryDict, http: ProviderHTTP
) -> None:
    """RFC 9207 §2.4: ``iss`` must be the issuer we sent the request to."""
    iss = params.get("iss")
    if iss is None:
        if provider.metadata(http).get("authorization_response_iss_parameter_supported") is True:
            raise IssuerMismatch(code="iss_missing")
        return
    if not pending.expected_issuer or not hmac.compare_digest(
        iss.encode(), pending.expected_issuer.encode()
    ):
        raise IssuerMismatch()


def finish(
    request: HttpRequest,
    provider: Provider,
    params: QueryDict,
    *,
    http: ProviderHTTP | None = None,
) -> SignInResult:
    """Check the authorization response, redeem the code, validate, fetch the profile."""
    http = http or ProviderHTTP()
    pending = consume_pending(request, provider, params)
    try:
        check_response_issuer(provider, pending, params, http)
        if params.get("error"):
            # RFC 6749 §4.1.2.1: access_denied, invalid_scope ...; codes are ASCII tokens.
            # OIDC Core §3.1.2.6: prompt=none answers (login_required ...) get clear words.
            error = params["error"][:64]
            raise ProviderError.from_response(error, params.get("error_description", "")[:300])
        code = params.get("code")
        if not code:
            raise ProviderError(
                _("The provider's answer has no authorization code."), code="no_code"
            )
        token_response = redeem_code(provider, pending, code, http)
        id_claims = None
        if provider.kind == "oidc":
            id_claims = validate_id_token(
                provider,
                token_response.get("id_token"),
                nonce=pending.nonce,
                access_token=token_response.get("access_token"),
                max_age=pending.max_age,
                http=http,
            )
        elif "id_token" in token_response:
            # A plain OAuth 2 provider's id_token is never validated: it is not kept
            # (nor stored), as a refresh response's is not (tokens.py).
            token_response = {k: v for k, v in token_response.items() if k != "id_token"}
        try:
            profile = provider.fetch_profile(http, token_response, id_claims)
            profile = provider.complete_profile(profile, params)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # A profile answer of an unexpected shape is the provider's fault, not a 500.
            logger.warning("Unusable profile from %s: %r", provider.slug, exc)
            raise InvalidUserInfo() from exc
    except LoginError as exc:
        exc.next_url = pending.next_url
        exc.retry_params = retry_params(pending)
        raise
    return SignInResult(provider, pending, profile, token_response, id_claims)


def redeem_code(
    provider: Provider, pending: PendingLogin, code: str, http: ProviderHTTP
) -> dict[str, Any]:
    """RFC 6749 §4.1.3 with the PKCE verifier (RFC 7636 §4.5)."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": pending.redirect_uri}
    if provider.pkce:
        data["code_verifier"] = pending.code_verifier
    token_endpoint = provider.endpoint("token_endpoint", http)
    body = provider.token_request(http, data, token_endpoint)
    if not isinstance(body.get("access_token"), str):
        raise ProviderUnavailable(code="token_response_unusable")
    return body


#: form_post fields kept out of the redirect URL (personal data), by state.
PRIVATE_POSTED_FIELDS = ("user",)


def _posted_key(state: str) -> str:
    return "oauthkit:login:posted:" + hashlib.sha256(state.encode()).hexdigest()


def keep_posted_fields(params) -> None:
    """Move PRIVATE_POSTED_FIELDS out of a form_post answer into the cache, under its
    ``state``, for the callback GET that follows (``take_posted_fields``)."""
    state = params.get("state")
    kept = {name: params.pop(name)[-1] for name in PRIVATE_POSTED_FIELDS if name in params}
    if state and kept:
        timeout = oauthkit_settings.LOGIN["PENDING_LIFETIME"].total_seconds()
        caches[oauthkit_settings.LOGIN["CACHE"]].set(_posted_key(state), kept, timeout)


def take_posted_fields(state: str | None) -> dict[str, str]:
    """The fields ``keep_posted_fields`` kept for ``state``, once."""
    if not state:
        return {}
    cache = caches[oauthkit_settings.LOGIN["CACHE"]]
    key = _posted_key(state)
    kept = cache.get(key) or {}
    if kept:
        cache.delete(key)
    return kept
