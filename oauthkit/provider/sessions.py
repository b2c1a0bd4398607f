"""What the provider remembers in the user's session."""

from __future__ import annotations

import time

#: Session key holding when (epoch seconds) the user last signed in (OIDC auth_time).
AUTH_TIME_SESSION_KEY = "oauthkit_auth_time"


def record_auth_time(sender, request, user, **kwargs) -> None:
    """``user_logged_in`` receiver: remember the sign-in time."""
    if request is not None and hasattr(request, "session"):
        request.session[AUTH_TIME_SESSION_KEY] = int(time.time())
