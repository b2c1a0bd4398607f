"""Per-request authentication parameters of a sign-in (OIDC Core §3.1.2.1): ``prompt``,
``max_age``, ``login_hint``, ``ui_locales`` and ``acr_values``.

The start-login views read them beside ``next`` (:func:`from_request`). Only these names
pass, each value checked, so a link cannot slip other parameters (``redirect_uri``,
``scope`` ...) into the authorization request. :func:`login_url` builds a start URL that
carries them; :func:`authenticated_at` tells, after a sign-in, when the provider last
authenticated the person (the ID token's ``auth_time``), for step-up checks.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from oauthkit import jose
from oauthkit.conf import oauthkit_settings

from .errors import InvalidAuthParameter

#: The names that pass from a start-login request to the authorization request.
AUTH_PARAMS = ("prompt", "max_age", "login_hint", "ui_locales", "acr_values")
#: Only an ID token can answer these (auth_time, acr): not sent to plain OAuth 2 providers.
OIDC_ONLY_PARAMS = frozenset({"max_age", "acr_values"})
PROMPT_VALUES = ("none", "login", "consent", "select_account")
#: The largest max_age a PositiveIntegerField holds on every database (about 68 years).
MAX_AGE_LIMIT = 2**31 - 1
#: Longest login_hint, ui_locales or acr_values accepted (an email address fits).
MAX_LENGTH = 255

_LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")  # BCP 47, loosely
_ACR_VALUE = re.compile(r"[\x21-\x7e]+")  # printable ASCII: URNs and URLs

#: Session key of the provider's auth_time at the last sign-in (epoch seconds).
AUTH_TIME_SESSION_KEY = "_oauthkit_login_auth_time"


def _invalid(name: str, message: str) -> InvalidAuthParameter:
    return InvalidAuthParameter(message, code=f"invalid_{name}")


def _prompt(value: str) -> str:
    values = list(dict.fromkeys(value.split()))  # a repeated value adds nothing
    # §3.1.2.1: none with any other value is an error.
    if not set(values) <= set(PROMPT_VALUES) or ("none" in values and len(values) > 1):
        raise _invalid(
            "prompt",
            _(
                "prompt must be none, login, consent or select_account, separated by "
                "spaces; none stands alone."
            ),
        )
    return " ".join(values)


def parse_max_age(value: Any) -> int:
    """``value`` as seconds: digits only, 0 to MAX_AGE_LIMIT; ValueError otherwise."""
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or int(text) > MAX_AGE_LIMIT:
        raise ValueError(f"max_age must be a non-negative integer, not {text[:20]!r}")
    return int(text)


def _max_age(value: str) -> str:
    try:
        return str(parse_max_age(value))
    except ValueError:
        raise _invalid(
            "max_age", _("max_age must be a whole number of seconds, 0 or more.")
        ) from None


def _login_hint(value: str) -> str:
    if len(value) > MAX_LENGTH or not value.isprintable():
        raise _invalid(
            "login_hint", _("login_hint is too long or has characters that are not allowed.")
        )
    return value


def _tokens(name: str, value: str, pattern: re.Pattern[str], message: str) -> str:
    tokens = value.split()
    if len(value) > MAX_LENGTH or not all(pattern.fullmatch(t) for t in tokens):
        raise _invalid(name, message)
    return " ".join(tokens)


def _ui_locales(value: str) -> str:
    message = _("ui_locales must be language tags (such as en-GB) separated by spaces.")
    return _tokens("ui_locales", value, _LANGUAGE_TAG, message)


def _acr_values(value: str) -> str:
    message = _("acr_values must be values separated by spaces.")
    return _tokens("acr_values", value, _ACR_VALUE, message)


_CHECKS = {
    "prompt": _prompt,
    "max_age": _max_age,
    "login_hint": _login_hint,
    "ui_locales": _ui_locales,
    "acr_values": _acr_values,
}


def parse(data: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """The allowed parameters in ``data`` (name -> list of values), checked and normalised.

    Other names are ignored; an empty value counts as absent. A bad or repeated value
    (RFC 6749 §3.1: parameters appear at most once) raises :class:`InvalidAuthParameter`.
    """
    params: dict[str, str] = {}
    for name in AUTH_PARAMS:
        values = [v for v in data.get(name, ()) if v.strip()]
        if len(values) > 1:
            raise _invalid(name, _("%(name)s is given more than once.") % {"name": name})
        if values:
            params[name] = _CHECKS[name](values[0])
    return params


def from_request(request: HttpRequest) -> dict[str, str]:
    """:func:`parse` of a start-login request. A posted field wins over the query string:
    the "Continue" page posts to its own URL, so a link's parameters arrive in the query."""
    return parse(
        {
            name: request.POST.getlist(name) if name in request.POST else request.GET.getlist(name)
            for name in AUTH_PARAMS
        }
    )


def _text(value: Any) -> str:
    if isinstance(value, list | tuple | set | frozenset):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


def login_url(slug: str, next_url: str | None = None, **params: Any) -> str:
    """The start-login URL of provider ``slug``, with ``next`` and authentication parameters.

    ``params`` are names of AUTH_PARAMS; ``None`` or "" leaves one out, a list of values is
    joined with spaces (``prompt=["login", "consent"]``). Values are checked by the view
    when the URL is followed, not here: a template never fails on a user's long email.
    """
    unknown = set(params) - set(AUTH_PARAMS)
    if unknown:
        raise TypeError(f"login_url() got unknown parameters: {', '.join(sorted(unknown))}")
    query = {"next": next_url or ""}
    query.update({name: _text(value) for name, value in params.items()})
    url = reverse("oauthkit_login:login", args=[slug])
    query = {name: value for name, value in query.items() if value}
    return url + "?" + urlencode(query) if query else url


def remember_auth_time(request: HttpRequest, id_claims: Mapping[str, Any] | None) -> None:
    """After a sign-in: keep the ID token's ``auth_time`` for :func:`authenticated_at`, or
    forget the one of an earlier sign-in when this token has none."""
    value = (id_claims or {}).get("auth_time")
    leeway = oauthkit_settings.LOGIN["LEEWAY"].total_seconds()
    # A time in the future is a broken clock or a broken token: no basis for step-up.
    if _is_time(value) and value <= time.time() + leeway:
        request.session[AUTH_TIME_SESSION_KEY] = int(value)
    else:
        request.session.pop(AUTH_TIME_SESSION_KEY, None)


def authenticated_at(request: HttpRequest) -> datetime | None:
    """When the provider last authenticated the signed-in person, as its ID token said
    (``auth_time``, OIDC Core §2) at the sign-in that started or renewed this session.

    None when unknown: not signed in through a provider, or its ID token had no
    ``auth_time`` (ask for one with ``max_age``).
    """
    session = getattr(request, "session", None)
    value = session.get(AUTH_TIME_SESSION_KEY) if session is not None else None
    if not _is_time(value) or not request.user.is_authenticated:
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def _is_time(value: Any) -> bool:
    return jose.is_numeric_date(value)
