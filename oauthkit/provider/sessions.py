"""What the provider remembers in the user's session, and what it reads back."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

from django.http import HttpRequest

#: Session key holding when (epoch seconds) the user last signed in (OIDC auth_time).
AUTH_TIME_SESSION_KEY = "oauthkit_auth_time"

#: Session key holding the provider session's ID, the ``sid`` of its ID tokens and logout
#: tokens (Back-Channel Logout §2.1).
SID_SESSION_KEY = "oauthkit_sid"


def record_auth_time(sender, request, user, **kwargs) -> None:
    """``user_logged_in`` receiver: remember the sign-in time."""
    if request is not None and hasattr(request, "session"):
        request.session[AUTH_TIME_SESSION_KEY] = int(time.time())


def record_session_id(sender, request, user, **kwargs) -> None:
    """``user_logged_in`` receiver: give the provider session a random ``sid``.

    A new sign-in of the same user keeps it (Django keeps the session's data then), so
    clients that received ID tokens before a re-authentication are still told when the
    session ends; another user's sign-in starts from an empty session, hence a new sid.
    """
    if request is not None and hasattr(request, "session"):
        request.session.setdefault(SID_SESSION_KEY, secrets.token_urlsafe(24))


def session_id(request: HttpRequest) -> str | None:
    """The ``sid`` of the request's provider session, or None (not signed in through a
    ``login()``, e.g. a session older than this feature)."""
    session = getattr(request, "session", None)
    value = session.get(SID_SESSION_KEY) if session is not None else None
    return value if isinstance(value, str) and value else None


def authenticated_at(request: HttpRequest, user) -> datetime | None:
    """When ``user`` last signed in: recorded in the session at login, else ``last_login``."""
    value = request.session.get(AUTH_TIME_SESSION_KEY)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    return getattr(user, "last_login", None)


def authentication_older_than(request: HttpRequest, user, max_age: int) -> bool:
    """Whether the last sign-in is more than ``max_age`` seconds ago (OIDC Core §3.1.2.1).

    An unknown sign-in time counts as too old, and ``max_age=0`` always asks for a new
    sign-in (the elapsed time is never known to be zero).
    """
    signed_in = authenticated_at(request, user)
    if signed_in is None or max_age == 0:
        return True
    # Epoch arithmetic, not timedelta: max_age may be larger than timedelta allows.
    return time.time() - signed_in.timestamp() > max_age
