"""The rows the HTTP benchmark needs, printed as JSON for the load driver.

- a service client (client_credentials, client_secret_basic);
- a web client (authorization_code + refresh_token) and, per virtual user, a user with
  a signed-in session, remembered consent for ``read`` and the first refresh token of
  the user's own chain (rotation makes each refresh token single use).

Sessions are written the way ``django.contrib.auth.login`` writes them, so the load
driver needs no login form. Run against a migrated database::

    DJANGO_SETTINGS_MODULE=example_project.settings python -m benchmarks.seed --users 4
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
import uuid
from datetime import timedelta
from importlib import import_module
from typing import Any

REDIRECT_URI = "http://127.0.0.1/bench/callback"
SCOPE = "read"


def make_client(client_id: str, grant_types: list[str]) -> tuple[Any, str]:
    """A confidential client (client_secret_basic) and its raw secret."""
    from oauthkit.provider.models import Client

    client = Client(
        client_id=client_id,
        name=f"Benchmark {client_id}",
        client_type=Client.ClientType.CONFIDENTIAL,
        token_endpoint_auth_method=Client.AuthMethod.CLIENT_SECRET_BASIC,
        redirect_uris=[REDIRECT_URI],
        grant_types=grant_types,
    )
    secret = client.set_new_secret()
    client.full_clean()
    client.save()
    return client, secret


def signed_in_session(user) -> str:
    """A session key for ``user``, as ``login()`` would leave it (with auth_time)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from oauthkit.provider.sessions import AUTH_TIME_SESSION_KEY

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[AUTH_TIME_SESSION_KEY] = int(time.time())
    session.save()
    return session.session_key


def seed(users: int) -> dict[str, Any]:
    """Create the clients and ``users`` virtual users; what the load driver needs."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from oauthkit.provider.models import Consent
    from oauthkit.provider.tokens import issue_refresh_token

    tag = secrets.token_hex(4)
    user_model = get_user_model()
    with transaction.atomic():
        service, service_secret = make_client(f"bench-service-{tag}", ["client_credentials"])
        web, web_secret = make_client(f"bench-web-{tag}", ["authorization_code", "refresh_token"])
        virtual_users = []
        for n in range(users):
            user = user_model._default_manager.create_user(
                **{user_model.USERNAME_FIELD: f"bench-{tag}-{n}"}
            )
            Consent.objects.create(
                user=user, client=web, scope=SCOPE, expires_at=timezone.now() + timedelta(days=1)
            )
            refresh_token, _ = issue_refresh_token(
                client=web, user=user, scopes=[SCOPE], grant_id=uuid.uuid4()
            )
            virtual_users.append(
                {"session": signed_in_session(user), "refresh_token": refresh_token}
            )
    return {
        "service": {"client_id": service.client_id, "secret": service_secret},
        "web": {"client_id": web.client_id, "secret": web_secret, "redirect_uri": REDIRECT_URI},
        "scope": SCOPE,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "users": virtual_users,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=4, help="virtual users to create")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
    import django

    django.setup()
    json.dump(seed(args.users), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
