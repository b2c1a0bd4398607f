"""Resource owner password credentials grant (RFC 6749 §4.3), off by default.

RFC 9700 §2.4: the password grant MUST NOT be used; it exists here for first-party
clients that cannot open a browser, behind two switches: ``ALLOW_PASSWORD_GRANT`` for
the site (a system check warns while it is on) and "password" in the client's grant
types. While the site switch is off the grant is not in the registry, so the token
endpoint answers ``unsupported_grant_type`` and discovery does not advertise it.

Only confidential clients may use it (RFC 6749 §4.3.2 requires them to authenticate):
a public client's identity proves nothing, so it would turn the token endpoint into a
password oracle for anyone. A site that needs otherwise subclasses ``PasswordGrant``
with ``allows_public_clients = True`` and lists the subclass in ``GRANT_TYPES``.

Failed attempts are counted per username and per client IP (``THROTTLE_RATES
["password_grant"]``); once either is used up, every attempt is ``invalid_grant``
("too many failed attempts", status 400, RFC 6749 §5.2) until the window ends, without
checking the password. Wrong username, wrong password and inactive user give one and
the same answer.
"""

from __future__ import annotations

import uuid

from django.contrib.auth import authenticate
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from ...conf import oauthkit_settings
from ..errors import InvalidGrant, InvalidRequest
from ..scopes import resolve_scopes
from ..throttle import Throttle, client_ip
from ..tokens import TokenResponse
from .base import Grant

#: The one answer to a wrong username, a wrong password or an inactive user.
WRONG_CREDENTIALS = "The username or password is incorrect."
TOO_MANY_ATTEMPTS = "Too many failed attempts; try again later."


class PasswordGrant(Grant):
    grant_type = "password"
    # RFC 6749 §4.3.2: confidential clients authenticate; public ones are refused.
    allows_public_clients = False
    #: The rate limit of failed attempts, by name in ``THROTTLE_RATES``.
    throttle = Throttle("password_grant")

    @classmethod
    def enabled(cls) -> bool:
        # RFC 9700 §2.4: off unless the site turns it on.
        return oauthkit_settings.ALLOW_PASSWORD_GRANT

    @sensitive_variables("password")
    def handle(self) -> TokenResponse:
        username, password = self.credentials()
        # Scope and resource are checked first: a bad request costs no password check.
        scopes = resolve_scopes(self.client, self.params.get("scope"))
        audience = self.requested_resource()
        user = self.authenticate(username, password)
        with_refresh = self.client.allows_grant_type("refresh_token")
        return self.issue(
            user=user,
            scopes=scopes,
            grant_id=uuid.uuid4(),
            # The user authenticated just now (OIDC Core §2, auth_time).
            auth_time=timezone.now(),
            refresh_scopes=scopes if with_refresh else None,
            audience=audience,
        )

    @sensitive_variables("password")
    def credentials(self) -> tuple[str, str]:
        # RFC 6749 §4.3.2: both REQUIRED.
        username = self.params.get("username")
        password = self.params.get("password")
        if not username or password is None:
            raise InvalidRequest("username and password are required.")
        return username, password

    def throttle_keys(self, username: str) -> tuple[str, str]:
        # Case-folded: a case-insensitive backend must not give each spelling its own count.
        return f"username:{username.casefold()}", f"ip:{client_ip(self.request)}"

    @sensitive_variables("password")
    def authenticate(self, username: str, password: str):
        """The active user with these credentials, or ``invalid_grant``.

        ``authenticate()`` runs the password hasher for unknown usernames too (Django's
        ModelBackend), so the answer takes about as long either way; nothing here adds
        a difference. A blocked username or IP is refused before any check.
        """
        user_key, ip_key = self.throttle_keys(username)
        if self.throttle.blocked(user_key, ip_key):
            raise InvalidGrant(TOO_MANY_ATTEMPTS)
        user = authenticate(self.request, username=username, password=password)
        if user is None or not user.is_active:
            self.throttle.failure(user_key, ip_key)
            raise InvalidGrant(WRONG_CREDENTIALS)
        # Only the username's count: one good password must not clear an IP that is
        # guessing the passwords of many accounts.
        self.throttle.reset(user_key)
        return user
