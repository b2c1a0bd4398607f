"""``manage.py seed_demo``: the demo's users, clients and signing key, and how to try them.

Idempotent: a second run changes no row and prints the same text, so ``make demo`` can
run it every time. Every credential here is public: never use them outside the demo.
"""

from __future__ import annotations

import shlex
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from oauthkit.conf import oauthkit_settings
from oauthkit.provider.keys import create_signing_key, key_ring
from oauthkit.provider.models import Client, SigningKey
from oauthkit.provider.pkce import s256

#: Where ``make demo`` runs the server; the demo client's redirect URI lives there.
BASE_URL = "http://127.0.0.1:8000"
REDIRECT_URI = f"{BASE_URL}/callback/"
#: The example site signs into itself with this client (oauthkit.login, "oauthkit-demo").
LOGIN_REDIRECT_URI = f"{BASE_URL}/accounts/oauth/oauthkit-demo/callback/"

USERS = {
    # username: (password, is_staff and is_superuser)
    "demo": ("demo", False),
    "admin": ("admin", True),
}
#: Demo users who may register clients on the developer pages (docs/applications.md).
DEVELOPERS = ["demo"]

WEB_CLIENT_ID = "demo-web"
WEB_CLIENT_SECRET = "demo-web-secret-do-not-use-in-production-0000"
SERVICE_CLIENT_ID = "demo-service"
SERVICE_CLIENT_SECRET = "demo-service-secret-do-not-use-in-production-0000"
#: A public client for the device flow (RFC 8628): example_project/device_login.py uses it.
DEVICE_CLIENT_ID = "demo-device"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

# A fixed PKCE pair, so that the printed authorization URL and the printed curl line
# fit together (RFC 7636 §4.1: 43-128 unreserved characters). Real clients make a new
# random verifier for every request.
CODE_VERIFIER = "demo-code-verifier-do-not-use-in-production-0123456789"
STATE = "demo-state"
# OpenID Connect too, so the demo shows an ID token and UserInfo.
SCOPE = "openid profile email read write"
NONCE = "demo-nonce"

#: The example API's scopes (example_project/settings.py, example_project.api): the demo
#: clients may request them besides read and write.
API_SCOPES = [
    "read:users",
    "write:users",
    "delete:users",
    "admin:all",
    "read:project:1",
    "read:project:2",
    "read:project:3",
]

CLIENTS = {
    WEB_CLIENT_ID: {
        "secret": WEB_CLIENT_SECRET,
        "name": "Demo web app",
        "client_type": Client.ClientType.CONFIDENTIAL,
        "token_endpoint_auth_method": Client.AuthMethod.CLIENT_SECRET_BASIC,
        "redirect_uris": [REDIRECT_URI, LOGIN_REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "scopes": ["openid", "profile", "email", "read", "write", *API_SCOPES],
        "default_scopes": ["read"],
        "skip_consent": False,
        "can_introspect": False,
        "is_active": True,
    },
    SERVICE_CLIENT_ID: {
        "secret": SERVICE_CLIENT_SECRET,
        "name": "Demo service",
        "client_type": Client.ClientType.CONFIDENTIAL,
        "token_endpoint_auth_method": Client.AuthMethod.CLIENT_SECRET_BASIC,
        "redirect_uris": [],
        "grant_types": ["client_credentials"],
        "scopes": ["read", "write", *API_SCOPES],
        "default_scopes": ["read"],
        "skip_consent": False,
        # It plays the resource server: it may introspect the web app's tokens (RFC 7662).
        "can_introspect": True,
        "is_active": True,
    },
    DEVICE_CLIENT_ID: {
        "secret": None,  # public: it authenticates with its client_id only
        "name": "Demo device",
        "client_type": Client.ClientType.PUBLIC,
        "token_endpoint_auth_method": Client.AuthMethod.NONE,
        "redirect_uris": [],
        "grant_types": [DEVICE_GRANT, "refresh_token"],
        "scopes": ["openid", "profile", "email", "read"],
        "default_scopes": ["read"],
        "skip_consent": False,
        "can_introspect": False,
        "is_active": True,
    },
}


class Command(BaseCommand):
    help = gettext_lazy(
        "Create the demo users, clients and signing key, and print how to try them."
    )
    # W001 (no signing key) would be noise here: this command creates the key.
    requires_system_checks: list = []

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            for username, (password, is_admin) in USERS.items():
                ensure_user(username, password, is_admin=is_admin)
            for username in DEVELOPERS:
                ensure_developer(username)
            for client_id, fields in CLIENTS.items():
                ensure_client(client_id, **fields)
            ensure_signing_key()
        self.stdout.write(instructions(key_ring.signing_key()["kid"]))


def ensure_user(username: str, password: str, *, is_admin: bool) -> None:
    """Create or repair a demo user; save only when something differs."""
    user_model = get_user_model()
    user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
    if user is None:
        user = user_model(**{user_model.USERNAME_FIELD: username})
    wanted = {"email": f"{username}@example.com", "is_staff": is_admin, "is_superuser": is_admin}
    changed = user.pk is None
    for name, value in wanted.items():
        if getattr(user, name) != value:
            setattr(user, name, value)
            changed = True
    # set_password salts anew, so call it only when the password is really different.
    if not user.check_password(password):
        user.set_password(password)
        changed = True
    if changed:
        user.save()


def ensure_developer(username: str) -> None:
    """Give a demo user the permission of the developer pages; adding it twice is a no-op."""
    user_model = get_user_model()
    user = user_model._default_manager.get(**{user_model.USERNAME_FIELD: username})
    permission = Permission.objects.get(
        content_type__app_label="oauthkit_provider", codename="register_client"
    )
    user.user_permissions.add(permission)


def ensure_client(client_id: str, *, secret: str | None, **fields) -> None:
    """Create or repair a demo client with a fixed ID and secret; save only on a difference."""
    client = Client.objects.filter(client_id=client_id).first() or Client(client_id=client_id)
    changed = client.pk is None
    for name, value in fields.items():
        if getattr(client, name) != value:
            setattr(client, name, value)
            changed = True
    if secret is not None and not client.check_secret(secret):
        client.set_secret(secret)  # only the SHA-256 hash is stored
        changed = True
    if changed:
        client.full_clean()
        client.save()


def ensure_signing_key() -> None:
    """Make a database signing key unless one exists or settings provide one."""
    if oauthkit_settings.SIGNING_KEYS or SigningKey.objects.filter(active=True).exists():
        return
    create_signing_key(oauthkit_settings.SIGNING_ALGORITHM)


def authorization_url() -> str:
    """The demo's authorization request, with a PKCE S256 challenge (RFC 7636 §4.3)."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": WEB_CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "scope": SCOPE,
            "state": STATE,
            "nonce": NONCE,
            "code_challenge": s256(CODE_VERIFIER),
            "code_challenge_method": "S256",
        }
    )
    return f"{BASE_URL}{reverse('oauthkit:authorization')}?{query}"


def curl(user: str, password: str, path: str, **data: str) -> str:
    """A curl command posting ``data`` as a form with HTTP Basic client authentication."""
    words = ["curl", "-u", f"{user}:{password}"]
    for name, value in data.items():
        words += ["-d", f"{name}={value}"]
    words.append(f"{BASE_URL}{path}")
    return shlex.join(words)


def bearer_curl(path: str) -> str:
    """A curl command calling the API with the token in the shell variable ``TOKEN``.

    Double quotes, so that the shell expands ``$TOKEN`` (``shlex.join`` would not).
    """
    return f'curl -H "Authorization: Bearer $TOKEN" {BASE_URL}{path}'


def instructions(kid: str) -> str:
    """What ``seed_demo`` prints: credentials, the authorization URL, the curl lines."""
    token_path = reverse("oauthkit:token")
    code_seconds = int(oauthkit_settings.AUTHORIZATION_CODE_LIFETIME.total_seconds())
    web = (WEB_CLIENT_ID, WEB_CLIENT_SECRET)
    service = (SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET)
    lines = [
        _("oauthkit demo is ready. Every credential below is public: demo use only."),
        "",
        _("Users (sign in at %(url)s):") % {"url": f"{BASE_URL}/accounts/login/"},
        "  demo / demo",
        "  admin / admin   " + _("(superuser, %(url)s)") % {"url": f"{BASE_URL}/admin/"},
        "",
        _("Clients:"),
        f"  Demo web app  client_id={WEB_CLIENT_ID}  client_secret={WEB_CLIENT_SECRET}",
        f"                redirect_uri={REDIRECT_URI}  grants: authorization_code refresh_token",
        f"  Demo service  client_id={SERVICE_CLIENT_ID}  client_secret={SERVICE_CLIENT_SECRET}",
        "                grants: client_credentials; may introspect any token",
        f"  Demo device   client_id={DEVICE_CLIENT_ID}  (public, no secret)",
        "                grants: device_code refresh_token",
        "",
        _("1. Open this URL, sign in as demo and allow access:"),
        f"   {authorization_url()}",
        f"   code_verifier={CODE_VERIFIER}",
        f"   code_challenge={s256(CODE_VERIFIER)} (S256)",
        "",
        _(
            "2. The callback page shows the code. Within %(seconds)d seconds, "
            "put it in place of CODE and run:"
        )
        % {"seconds": code_seconds},
        "   "
        + curl(
            *web,
            token_path,
            grant_type="authorization_code",
            code="CODE",
            redirect_uri=REDIRECT_URI,
            code_verifier=CODE_VERIFIER,
        ),
        "",
        _("3. Refresh (put the refresh_token from step 2 in place of REFRESH_TOKEN):"),
        "   " + curl(*web, token_path, grant_type="refresh_token", refresh_token="REFRESH_TOKEN"),
        "",
        _("4. A token for the service itself (client credentials):"),
        "   " + curl(*service, token_path, grant_type="client_credentials", scope="read"),
        "",
        _("5. Ask whether a token is active (put it in place of ACCESS_TOKEN):"),
        "   " + curl(*service, reverse("oauthkit:introspection"), token="ACCESS_TOKEN"),
        "",
        _(
            "6. Call the example API, which needs the scope read (put the access_token "
            "from step 4 in place of ACCESS_TOKEN):"
        ),
        "   TOKEN=ACCESS_TOKEN",
        "   " + bearer_curl(reverse("api:ping")),
        "   "
        + _(
            "Both clients may also request the API's own scopes, for example "
            "scope=read:users for %(url)s."
        )
        % {"url": f"{BASE_URL}{reverse('api:user-list')}"},
        "",
        _("7. Sign in from a terminal with the device flow (RFC 8628), as demo:"),
        f"   .venv/bin/python example_project/device_login.py --client-id {DEVICE_CLIENT_ID} "
        f"--issuer {BASE_URL}",
        "",
        _("Applications the demo user authorized: %(url)s")
        % {"url": f"{BASE_URL}{reverse('oauthkit:authorized_applications')}"},
        _("Register your own clients as demo: %(url)s")
        % {"url": f"{BASE_URL}{reverse('oauthkit:developer_applications')}"},
        "",
        _("Signing key: %(kid)s") % {"kid": kid},
        _("Metadata: %(url)s") % {"url": f"{BASE_URL}/.well-known/oauth-authorization-server"},
    ]
    return "\n".join(lines)
