"""Fixtures of the login tests.

``idp``: a scripted OpenID Provider at https://idp.example, answered in-process by a
``requests`` transport adapter (the relying party's real HTTP code runs; only the network
is replaced). Tests change what it answers (ID token claims and header, token errors) to
drive the relying party through the Django test client.

``live_provider``: oauthkit's own provider on pytest-django's live server, configured as
the "demo" login provider of the same site.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.models import Response

from oauthkit import jose
from oauthkit.login.adapter import LoginAdapter
from oauthkit.login.http import ProviderHTTP
from oauthkit.testing.factories import ClientFactory

IDP = "https://idp.example"
CLIENT_ID = "rp-client"
CLIENT_SECRET = "rp-secret"
FAKE_CALLBACK = "http://testserver/accounts/oauth/fake/callback/"


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


class FakeIdP:
    """A scripted OpenID Provider; every request it received is kept in ``requests``."""

    def __init__(self) -> None:
        self.key = jose.generate_key("RS256")
        self.jwks_keys = [jose.public_jwk(self.key)]
        self.requests: list[requests.PreparedRequest] = []
        self.lock = threading.Lock()
        self.nonce = ""
        self.subject = "idp-user-1"
        self.claims: dict[str, Any] = {}  # merged into the ID token (None deletes)
        self.header: dict[str, Any] = {}
        self.id_token: str | None = None  # a fixed token instead of a built one
        self.userinfo: dict[str, Any] = {}
        self.token_error: tuple[int, dict] | None = None
        self.refresh_count = 0
        self.refresh_delay = threading.Event()  # never set: only widens a race window
        self.access_token = "at-1"
        self.extra_metadata: dict[str, Any] = {}
        self.raise_on: dict[str, Exception] = {}

    # -- what the provider issues ------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": IDP,
            "authorization_endpoint": f"{IDP}/authorize",
            "token_endpoint": f"{IDP}/token",
            "userinfo_endpoint": f"{IDP}/userinfo",
            "jwks_uri": f"{IDP}/jwks",
            "revocation_endpoint": f"{IDP}/revoke",
            "end_session_endpoint": f"{IDP}/logout",
            **self.extra_metadata,
        }

    def id_claims(self) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": IDP,
            "sub": self.subject,
            "aud": CLIENT_ID,
            "exp": now + 300,
            "iat": now,
            "nonce": self.nonce,
            "sid": "idp-session-1",
            "email": "pat@example.com",
            "email_verified": True,
            "name": "Pat Doe",
            "given_name": "Pat",
            "family_name": "Doe",
            "preferred_username": "pat",
        }
        claims.update(self.claims)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, claims: dict[str, Any], key=None, **header: Any) -> str:
        """A compact JWS with the provider's key (or ``key``) and header overrides."""
        from jwcrypto import jws
        from jwcrypto.common import json_encode

        key = key or self.key
        protected = {"alg": key["alg"], "kid": key["kid"], **header}
        token = jws.JWS(json_encode(claims).encode())
        token.add_signature(key, alg=protected["alg"], protected=json_encode(protected))
        return token.serialize(compact=True)

    def token_body(self) -> dict[str, Any]:
        token = self.id_token
        if token is None:
            token = self.sign(self.id_claims(), **self.header)
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": "rt-1",
            "id_token": token,
        }

    # -- transport ---------------------------------------------------------------------

    def handle(self, request: requests.PreparedRequest) -> tuple[int, Any]:
        path = urlsplit(request.url).path
        with self.lock:
            self.requests.append(request)
        if path in self.raise_on:
            raise self.raise_on[path]
        if path == "/.well-known/openid-configuration":
            return 200, self.metadata()
        if path == "/jwks":
            return 200, {"keys": self.jwks_keys}
        if path == "/token":
            form = {k: v[0] for k, v in parse_qs(request.body or "").items()}
            if self.token_error:
                return self.token_error
            if form.get("grant_type") == "refresh_token":
                with self.lock:
                    self.refresh_count += 1
                    count = self.refresh_count
                self.refresh_delay.wait(0.2)
                return 200, {
                    "access_token": f"at-refreshed-{count}",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "refresh_token": f"rt-refreshed-{count}",
                }
            return 200, self.token_body()
        if path == "/userinfo":
            return 200, {"sub": self.subject, **self.userinfo}
        if path == "/revoke":
            return 200, {}
        return 404, {"error": "not_found"}

    def calls(self, path: str) -> list[requests.PreparedRequest]:
        return [r for r in self.requests if urlsplit(r.url).path == path]


class _Transport(BaseAdapter):
    def __init__(self, idp: FakeIdP):
        super().__init__()
        self.idp = idp

    def send(self, request, **kwargs):
        status, body = self.idp.handle(request)
        response = Response()
        response.status_code = status
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass


DEFAULT_ADAPTER = "oauthkit.login.adapter.LoginAdapter"


class PrefixingAdapter(LoginAdapter):
    """The live provider and the relying party share one user table in these tests; a
    prefix keeps the relying party's new users apart from the provider's."""

    def suggested_username(self, profile):
        return "rp-" + super().suggested_username(profile)


def login_settings(settings, providers: dict[str, dict], **options: Any) -> None:
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "LOGIN": {
            "ADAPTER": "tests.login.conftest.PrefixingAdapter",
            **settings.OAUTHKIT.get("LOGIN", {}),
            "PROVIDERS": providers,
            **options,
        },
    }


def set_login(settings, **options: Any) -> None:
    """Change LOGIN options (a new dict, so that the settings cache is dropped)."""
    login = settings.OAUTHKIT.get("LOGIN", {})
    settings.OAUTHKIT = {**settings.OAUTHKIT, "LOGIN": {**login, **options}}


def set_provider(django_settings, slug: str = "fake", **options: Any) -> None:
    """Change one configured provider's entry."""
    providers = dict(django_settings.OAUTHKIT["LOGIN"]["PROVIDERS"])
    providers[slug] = {**providers.get(slug, {}), **options}
    set_login(django_settings, PROVIDERS=providers)


@pytest.fixture
def idp(settings, monkeypatch) -> FakeIdP:
    fake = FakeIdP()
    real_factory = ProviderHTTP.session_factory

    def session_factory():
        session = real_factory()
        session.mount(IDP + "/", _Transport(fake))
        return session

    monkeypatch.setattr(ProviderHTTP, "session_factory", session_factory)
    login_settings(
        settings,
        {
            "fake": {
                "kind": "oidc",
                "name": "Fake IdP",
                "issuer": IDP,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            }
        },
    )
    return fake


def start(http, idp: FakeIdP, slug: str = "fake", next_url: str | None = None) -> dict[str, str]:
    """Begin signing in through the test client; return the authorization request's params."""
    url = f"/accounts/oauth/{slug}/login/"
    response = http.post(url, {"next": next_url} if next_url else {})
    assert response.status_code == 302, (response.status_code, response.content[:500])
    params = query_of(response["Location"])
    idp.nonce = params.get("nonce", "")
    return params


def callback(http, params: dict[str, str], slug: str = "fake", **answer: str):
    """The provider's redirect back, with ``code``, ``state`` and ``iss`` unless overridden."""
    query = {"code": "the-code", "state": params["state"], "iss": IDP, **answer}
    query = {k: v for k, v in query.items() if v is not None}
    return http.get(f"/accounts/oauth/{slug}/callback/", query)


def sign_in(http, idp: FakeIdP, slug: str = "fake", **answer: str):
    return callback(http, start(http, idp, slug), slug, **answer)


def assert_error_page(response, code: str, status: int = 400) -> None:
    """The login error page with this code, a retry link, and the page protections."""
    assert response.status_code == status, (response.status_code, response.content[:800])
    body = response.content.decode()
    assert f"<code>{code}</code>" in body, body
    assert "/accounts/oauth/" in body and "Try again" in body
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cache-Control"] == "no-store"


# -- oauthkit's own provider on the live server --------------------------------------------

HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


CHECKED_BOX = re.compile(r'<input type="checkbox" name="([^"]+)" value="([^"]*)"[^>]* checked>')


def form_fields(page: str) -> list[tuple[str, str]]:
    """What a browser submits: hidden inputs and checked checkboxes (the consent page's
    optional scopes are pre-checked)."""
    found = HIDDEN_INPUT.findall(page) + CHECKED_BOX.findall(page)
    return [(name, html.unescape(value)) for name, value in found]


@pytest.fixture
def live_provider(django_db_setup, live_server, settings):
    """The live server as issuer, a client for the "demo" login provider of this site."""
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ISSUER": live_server.url}
    client = ClientFactory(
        name="Login demo",
        redirect_uris=["http://testserver/accounts/oauth/demo/callback/"],
        grant_types=["authorization_code", "refresh_token"],
        post_logout_redirect_uris=["http://testserver/"],
    )
    login_settings(
        settings,
        {
            "demo": {
                "kind": "oidc",
                "name": "oauthkit demo",
                "issuer": live_server.url,
                "client_id": client.client_id,
                "client_secret": client.raw_secret,
                "scopes": ["openid", "profile", "email", "offline_access"],
            }
        },
    )
    return client


def browser_authorize(authorization_url: str, user, browser: requests.Session | None = None):
    """A browser at the provider: sign in, allow; return the redirect's Location."""
    browser = browser or requests.Session()
    page = browser.get(authorization_url, timeout=10)
    if urlsplit(page.url).path == "/accounts/login/":
        credentials = {"username": user.username, "password": "password"}
        fields = form_fields(page.text) + list(credentials.items())
        page = browser.post(page.url, fields, timeout=10)
        assert page.status_code == 200, (page.status_code, page.text[:500])
    answer = browser.post(
        page.url,
        [*form_fields(page.text), ("decision", "allow")],
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303, (answer.status_code, answer.text[:500])
    return answer.headers["Location"]
