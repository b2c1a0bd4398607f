"""The provider's tokens, stored encrypted, handed to the site and refreshed when due.

``get_access_token(user, "github")`` returns a valid access token, refreshing it first when
it is about to expire. However many requests ask at once, one refresh runs per account:
on PostgreSQL the row is locked (SELECT ... FOR UPDATE) while refreshing; elsewhere a
conditional UPDATE of ``refresh_lock_until`` elects one refresher and the others wait for
its result. A refresh token is often single use (RFC 9700 §4.14.2), so two concurrent
refreshes would end with one of them failing and the account logged out.

An ID token in a refresh response is stored only once validated against the stored one
(OIDC Core §12.2); if it fails, the refresh fails and nothing stored changes.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from oauthkit.conf import oauthkit_settings

from . import crypto
from .errors import InvalidIDToken, LoginError, ProviderError, TokenUnavailable
from .http import ProviderHTTP
from .id_token import validate_refreshed_id_token
from .models import LinkedAccount, StoredToken
from .providers import ProviderNotFound, get_provider
from .providers.base import Provider

logger = logging.getLogger("oauthkit.login")

#: How long an elected refresher may hold the lock before another may take over.
LOCK_TIMEOUT = timedelta(seconds=30)
#: How often a waiting request looks whether the refresher finished (not a test timing).
WAIT_STEP = 0.05


def _seal(value: Any) -> str:
    return crypto.encrypt(value) if isinstance(value, str) and value else ""


def store_tokens(account: LinkedAccount, token_response: dict[str, Any]) -> StoredToken:
    """Save (encrypted) the tokens of a token response for ``account``."""
    stored, _ = StoredToken.objects.get_or_create(account=account)
    _apply(stored, token_response)
    stored.save()
    return stored


def _apply(stored: StoredToken, body: dict[str, Any]) -> None:
    stored.access_token_encrypted = _seal(body.get("access_token"))
    # RFC 6749 §6: a refresh response may omit the refresh token; the old one stays valid.
    if body.get("refresh_token"):
        stored.refresh_token_encrypted = _seal(body["refresh_token"])
    if body.get("id_token"):
        stored.id_token_encrypted = _seal(body["id_token"])
    stored.token_type = str(body.get("token_type") or "")[:40]
    if body.get("scope"):
        stored.scope = str(body["scope"])
    expires_in = body.get("expires_in")
    try:
        seconds = int(expires_in) if expires_in is not None else None
    except (TypeError, ValueError):
        seconds = None
    stored.expires_at = timezone.now() + timedelta(seconds=seconds) if seconds else None
    stored.version += 1
    stored.refresh_lock_until = None


def _fresh(stored: StoredToken) -> bool:
    if not stored.access_token_encrypted:
        return False
    if stored.expires_at is None:
        return True
    return stored.expires_at - oauthkit_settings.LOGIN["REFRESH_MARGIN"] > timezone.now()


def get_access_token(
    user: AbstractBaseUser, provider: str, *, http: ProviderHTTP | None = None
) -> str:
    """A valid access token of ``user`` at ``provider`` (a slug), refreshed when due.

    Raises TokenUnavailable when nothing is stored or the refresh fails; its ``code`` says
    why: ``no_token``, ``expired`` (no refresh token), ``provider_gone``,
    ``refresh_failed``, ``refresh_timeout``, or ``invalid_id_token`` when the refresh
    response's ID token failed validation (OIDC Core §12.2; the ``InvalidIDToken`` is its
    ``__cause__``). After ``invalid_id_token`` the stored tokens are left as they were.
    """
    stored = (
        StoredToken.objects.select_related("account")
        .filter(account__user=user, account__provider=provider)
        .first()
    )
    if stored is None:
        raise TokenUnavailable(code="no_token")
    if _fresh(stored):
        return stored.access_token
    if not stored.refresh_token_encrypted:
        raise TokenUnavailable(code="expired")
    try:
        prov = get_provider(provider)
    except ProviderNotFound:
        raise TokenUnavailable(code="provider_gone") from None
    if connection.features.has_select_for_update:
        return _refresh_locked(prov, stored.pk, http or ProviderHTTP())
    return _refresh_elected(prov, stored.pk, http or ProviderHTTP())


def _refresh_locked(provider: Provider, pk: int, http: ProviderHTTP) -> str:
    with transaction.atomic():
        stored = StoredToken.objects.select_for_update().get(pk=pk)
        if _fresh(stored):  # another request refreshed while we waited for the lock
            return stored.access_token
        try:
            _refresh(provider, stored, http)
        except TokenUnavailable as exc:
            failure = exc  # raised after the commit, which keeps a forgotten refresh token
        else:
            return stored.access_token
    raise failure


def _refresh_elected(provider: Provider, pk: int, http: ProviderHTTP) -> str:
    deadline = time.monotonic() + LOCK_TIMEOUT.total_seconds()
    while True:
        now = timezone.now()
        elected = (
            StoredToken.objects.filter(pk=pk)
            .filter(Q(refresh_lock_until=None) | Q(refresh_lock_until__lt=now))
            .update(refresh_lock_until=now + LOCK_TIMEOUT)
        )
        stored = StoredToken.objects.get(pk=pk)
        if elected == 1:
            if _fresh(stored):  # refreshed between our read and our election
                StoredToken.objects.filter(pk=pk).update(refresh_lock_until=None)
                return stored.access_token
            try:
                _refresh(provider, stored, http)
            finally:
                StoredToken.objects.filter(pk=pk).update(refresh_lock_until=None)
            return stored.access_token
        if _fresh(stored):
            return stored.access_token
        if time.monotonic() > deadline:
            raise TokenUnavailable(code="refresh_timeout")
        time.sleep(WAIT_STEP)


def _refresh(provider: Provider, stored: StoredToken, http: ProviderHTTP) -> None:
    """RFC 6749 §6; a refused refresh token is forgotten so that nobody retries it."""
    data = {"grant_type": "refresh_token", "refresh_token": stored.refresh_token}
    try:
        body = provider.token_request(http, data, provider.endpoint("token_endpoint", http))
    except ProviderError as exc:
        if exc.code == "invalid_grant":
            StoredToken.objects.filter(pk=stored.pk).update(
                access_token_encrypted="", refresh_token_encrypted="", refresh_lock_until=None
            )
        raise TokenUnavailable(code="refresh_failed") from exc
    except LoginError as exc:
        raise TokenUnavailable(code="refresh_failed") from exc
    if not isinstance(body.get("access_token"), str):
        raise TokenUnavailable(code="refresh_failed")
    body = _checked_id_token(provider, stored, body, http)
    _apply(stored, body)
    stored.save()


def _checked_id_token(
    provider: Provider, stored: StoredToken, body: dict[str, Any], http: ProviderHTTP
) -> dict[str, Any]:
    """The refresh response to store, its ID token validated (OIDC Core §12.2).

    A token that fails validation fails the whole refresh, before anything is written: a
    response carrying a forged or foreign ID token is not trusted for its other tokens.
    """
    token = body.get("id_token")
    if not token:
        return body  # §12.2: it might not contain one; the stored one stays
    if provider.kind != "oidc":
        # A plain OAuth 2 provider promises no ID token; we have nothing to check it by.
        return {**body, "id_token": None}
    try:
        validate_refreshed_id_token(
            provider,
            token,
            _stored_id_claims(stored),
            subject=stored.account.subject,
            access_token=body["access_token"],
            http=http,
        )
    except InvalidIDToken as exc:
        logger.warning(
            "Refreshed ID token refused: provider=%s account=%s rule=%s",
            provider.slug,
            stored.pk,
            exc.code,
        )
        raise TokenUnavailable(code="invalid_id_token") from exc
    except LoginError as exc:  # the provider's keys could not be fetched
        raise TokenUnavailable(code="refresh_failed") from exc
    return body


def _stored_id_claims(stored: StoredToken) -> dict[str, Any] | None:
    """The claims of the stored ID token, or None when there is none.

    It was validated before it was stored and is sealed since (AES-GCM), so its payload is
    read without checking the signature again, whose key the provider may have retired.
    """
    try:
        payload = stored.id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (crypto.DecryptionError, IndexError, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def revoke_tokens(account: LinkedAccount, *, http: ProviderHTTP | None = None) -> bool:
    """Revoke the stored tokens at the provider (RFC 7009), best effort; True if it answered."""
    stored = StoredToken.objects.filter(account=account).first()
    if stored is None:
        return False
    try:
        provider = get_provider(account.provider)
        http = http or ProviderHTTP()
        url = provider.endpoint("revocation_endpoint", http)
    except (ProviderNotFound, LoginError):
        return False
    if not url:
        return False
    ok = True
    # RFC 7009 §2.1: revoking the refresh token revokes its access tokens at most servers.
    for value, hint in (
        (stored.refresh_token, "refresh_token"),
        (stored.access_token, "access_token"),
    ):
        if not value:
            continue
        form, headers = provider.client_authentication(
            {"token": value, "token_type_hint": hint}, url
        )
        try:
            response = http.request("POST", url, data=form, headers=headers)
            ok = ok and response.status_code == 200
        except LoginError:
            ok = False
    return ok
