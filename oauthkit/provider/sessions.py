"""What the provider remembers in the user's session, and what it reads back."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.http import HttpRequest

#: Session key holding when (epoch seconds) the user last signed in (OIDC auth_time).
AUTH_TIME_SESSION_KEY = "oauthkit_auth_time"


def record_auth_time(sender, request, user, **kwargs) -> None:
    """``user_logged_in`` receiver: remember the sign-in time."""
    if request is not None and hasattr(request, "session"):
        request.session[AUTH_TIME_SESSION_KEY] = int(time.time())


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
