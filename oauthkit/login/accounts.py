"""What a finished sign-in does to accounts: find the linked account, link by verified email,
create a user, or connect a provider to the signed-in user; then log in and record tokens.

Every write of one sign-in happens in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from oauthkit.conf import oauthkit_settings

from . import crypto, signals
from .adapter import get_adapter
from .errors import AccountError
from .flow import SignInResult
from .models import LinkedAccount, PendingLogin, ProviderSession
from .providers.base import Profile, Provider
from .tokens import store_tokens

SIGNUP_SESSION_KEY = "_oauthkit_login_signup"
LOGIN_SESSION_KEY = "_oauthkit_login_provider"
ID_TOKEN_SESSION_KEY = "_oauthkit_login_id_token"


class UsernameNeeded(Exception):
    """The suggested username is taken: the person picks one on the sign-up form."""

    def __init__(self, suggestion: str):
        self.suggestion = suggestion
        super().__init__(suggestion)


def complete(request: HttpRequest, result: SignInResult) -> AbstractBaseUser:
    """Apply a finished callback; return the user now signed in (or connected)."""
    if result.pending.purpose == PendingLogin.Purpose.CONNECT:
        return _connect(request, result)
    adapter = get_adapter()
    provider, profile = result.provider, result.profile
    account = (
        LinkedAccount.objects.select_related("user")
        .filter(provider=provider.slug, subject=profile.subject)
        .first()
    )
    if account is not None:
        with transaction.atomic():
            _update(account, profile)
            _remember_tokens(account, result.token_response)
        _log_in(request, account, result, created=False)
        return account.user
    user = adapter.find_existing_user(request, provider, profile)
    if user is not None:
        account = _link(request, user, provider, profile, result.token_response)
        _log_in(request, account, result, created=False)
        return user
    if not adapter.is_auto_signup_allowed(request, provider, profile):
        raise AccountError(_("Signing up with this provider is closed."), code="signup_closed")
    username = adapter.suggested_username(profile)
    if not adapter.username_is_free(username):
        save_for_signup(request, result)
        raise UsernameNeeded(username)
    return create_user(request, result, username)


def create_user(request: HttpRequest, result: SignInResult, username: str) -> AbstractBaseUser:
    """Create the user of a first sign-in, link the account and log in."""
    adapter = get_adapter()
    try:
        with transaction.atomic():
            user = adapter.new_user(request, result.provider, result.profile, username)
            account = _link(request, user, result.provider, result.profile, result.token_response)
    except IntegrityError:
        # Two tabs finishing the same first sign-in: the other one won.
        raise AccountError(code="already_linked") from None
    _log_in(request, account, result, created=True)
    return user


def _connect(request: HttpRequest, result: SignInResult) -> AbstractBaseUser:
    user = request.user
    if not user.is_authenticated or user.pk != result.pending.user_id:
        raise AccountError(_("Sign in again to connect an account."), code="not_signed_in")
    existing = LinkedAccount.objects.filter(
        provider=result.provider.slug, subject=result.profile.subject
    ).first()
    if existing is not None and existing.user_id != user.pk:
        raise AccountError(
            _("This account is already connected to another user."), code="linked_elsewhere"
        )
    if existing is not None:
        with transaction.atomic():
            _update(existing, result.profile)
            _remember_tokens(existing, result.token_response)
        return user
    _link(request, user, result.provider, result.profile, result.token_response)
    return user


def _update(account: LinkedAccount, profile: Profile) -> None:
    account.email = (profile.email or "")[:254]
    account.profile = get_adapter().profile_data(profile)
    account.last_login_at = timezone.now()
    account.save(update_fields=["email", "profile", "last_login_at", "updated_at"])


def _link(
    request: HttpRequest,
    user: AbstractBaseUser,
    provider: Provider,
    profile: Profile,
    token_response: dict[str, Any],
) -> LinkedAccount:
    with transaction.atomic():
        account = LinkedAccount.objects.create(
            user=user,
            provider=provider.slug,
            subject=profile.subject,
            email=(profile.email or "")[:254],
            profile=get_adapter().profile_data(profile),
            last_login_at=timezone.now(),
        )
        _remember_tokens(account, token_response)
    signals.account_linked.send(type(provider), request=request, user=user, account=account)
    return account


def _remember_tokens(account: LinkedAccount, token_response: dict[str, Any]) -> None:
    if oauthkit_settings.LOGIN["STORE_TOKENS"]:
        store_tokens(account, token_response)


def _log_in(
    request: HttpRequest, account: LinkedAccount, result: SignInResult, *, created: bool
) -> None:
    backend = settings.AUTHENTICATION_BACKENDS[0]
    login(request, account.user, backend=backend)
    request.session[LOGIN_SESSION_KEY] = account.provider
    id_token = result.token_response.get("id_token")
    if isinstance(id_token, str):
        # Kept for RP-initiated logout's id_token_hint; encrypted as everything we store.
        request.session[ID_TOKEN_SESSION_KEY] = crypto.encrypt(id_token)
    request.session.save()
    sid = (result.id_claims or {}).get("sid")
    ProviderSession.objects.create(
        account=account,
        sid=sid if isinstance(sid, str) else "",
        session_key=request.session.session_key,
    )
    signals.signed_in.send(
        type(result.provider), request=request, user=account.user, account=account, created=created
    )


def save_for_signup(request: HttpRequest, result: SignInResult) -> None:
    """Keep a finished callback (encrypted, in the session) for the sign-up form."""
    data = {
        "provider": result.provider.slug,
        "profile": asdict(result.profile),
        "token_response": result.token_response,
        "id_claims": result.id_claims,
        "next_url": result.pending.next_url,
    }
    request.session[SIGNUP_SESSION_KEY] = crypto.encrypt(json.dumps(data))


def load_for_signup(request: HttpRequest) -> dict[str, Any] | None:
    """The callback kept by ``save_for_signup``, or None."""
    value = request.session.get(SIGNUP_SESSION_KEY)
    if not value:
        return None
    try:
        return json.loads(crypto.decrypt(value))
    except (crypto.DecryptionError, ValueError):
        return None
