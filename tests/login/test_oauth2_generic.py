"""The generic OAuth 2 kind and the GitHub preset, end to end through the login views.

``FakeGitHub`` is a GitHub-shaped OAuth 2 server on 127.0.0.1 (authorize redirect, token
endpoint that answers form-encoded unless asked for JSON, ``/user``, ``/user/emails``),
plus a differently shaped profile API (``/acme/me``) for the generic kind. The browser
part is the Django test client; the login side talks to the fake server over real HTTP.
"""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from oauthkit.login.errors import ConfigurationError, InvalidUserInfo, ProviderUnavailable
from oauthkit.login.models import LinkedAccount, StoredToken
from oauthkit.login.providers import build_provider, get_provider
from oauthkit.login.providers.base import s256
from oauthkit.login.providers.oauth2 import OAuth2Provider
from oauthkit.testing.factories import UserFactory

pytestmark = pytest.mark.django_db

CLIENT_ID = "gh-client"
CLIENT_SECRET = "gh-s3cret"
USER = {
    "login": "octocat",
    "id": 583231,
    "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
    "name": "The Octocat",
    "email": "public@example.com",
}
EMAILS = [
    {"email": "unverified@example.com", "primary": False, "verified": False},
    {"email": "octocat@example.com", "primary": True, "verified": True},
    {"email": "second@example.com", "primary": False, "verified": True},
]


class FakeGitHub(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_port}"
        self.codes: dict[str, dict] = {}  # code -> the authorization request
        self.tokens: set[str] = set()
        self.token_requests: list[dict] = []
        self.emails: list[dict] = list(EMAILS)
        self.acme_profile: dict = {}
        self.token_answer: dict | None = None


class Handler(BaseHTTPRequestHandler):
    server: FakeGitHub

    def log_message(self, *args):
        pass

    def send(self, status, body, content_type="application/json", headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        parts = urlsplit(self.path)
        if parts.path == "/login/oauth/authorize":
            # The person approves at once: redirect back with a code (RFC 6749 §4.1.2).
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            code = secrets.token_urlsafe(8)
            self.server.codes[code] = query
            target = (
                query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})
            )
            return self.send(302, b"", "text/plain", [("Location", target)])
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.server.tokens:
            return self.send(401, {"message": "Bad credentials"})
        if parts.path == "/user":
            return self.send(200, USER)
        if parts.path == "/user/emails":
            return self.send(200, self.server.emails)
        if parts.path == "/acme/me":
            return self.send(200, self.server.acme_profile)
        return self.send(404, {"message": "Not Found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self.server.token_requests.append({"form": form, "accept": self.headers.get("Accept")})
        if self.server.token_answer is not None:
            return self.send(200, self.server.token_answer)
        request = self.server.codes.pop(form.get("code"), None)
        ok = (
            request is not None
            and form.get("client_id") == CLIENT_ID
            and form.get("client_secret") == CLIENT_SECRET
            and form.get("redirect_uri") == request["redirect_uri"]
            and s256(form.get("code_verifier", "")) == request.get("code_challenge")
        )
        # GitHub answers errors with status 200.
        answer = {"access_token": f"gho_{secrets.token_hex(8)}", "token_type": "bearer"}
        if not ok:
            answer = {"error": "bad_verification_code", "error_description": "The code is wrong."}
        else:
            self.server.tokens.add(answer["access_token"])
            answer.update(getattr(self.server, "extra_answer", {}))
        if "application/json" in (self.headers.get("Accept") or ""):
            return self.send(200, answer)
        # Like GitHub, form-encoded unless JSON is asked for.
        return self.send(200, urlencode(answer).encode(), "application/x-www-form-urlencoded")


@pytest.fixture
def github(settings):
    server = FakeGitHub()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    providers = {
        "github": {
            "preset": "github",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            # GitHub Enterprise-style overrides, pointed at the fake server.
            "authorization_endpoint": f"{server.url}/login/oauth/authorize",
            "token_endpoint": f"{server.url}/login/oauth/access_token",
            "userinfo_endpoint": f"{server.url}/user",
        },
        "acme": {
            "kind": "oauth2",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "token_endpoint_auth_method": "client_secret_post",
            "authorization_endpoint": f"{server.url}/login/oauth/authorize",
            "token_endpoint": f"{server.url}/login/oauth/access_token",
            "userinfo_endpoint": f"{server.url}/acme/me",
            "scopes": ["profile"],
            "settings": {
                "profile_mapping": {
                    "subject": "data.account.number",
                    "username": "data.handle",
                    "email": "data.emails.0.address",
                    "email_verified": "data.emails.0.confirmed",
                    "name": "",  # turned off
                }
            },
        },
    }
    settings.OAUTHKIT = {**settings.OAUTHKIT, "LOGIN": {"PROVIDERS": providers}}
    yield server
    server.shutdown()
    server.server_close()


def sign_in(client, slug="github", next_url="/done/"):
    """Start at our login view (the POST of its Continue button), let the fake provider
    approve, and return the callback response."""
    start = client.post(f"/accounts/oauth/{slug}/login/", {"next": next_url})
    assert start.status_code == 302, start.content
    approve = requests.get(start["Location"], allow_redirects=False, timeout=5)
    assert approve.status_code == 302
    back = urlsplit(approve.headers["Location"])
    assert back.path == f"/accounts/oauth/{slug}/callback/"
    return client.get(back.path + "?" + back.query)


def signed_in_user(client):
    from django.contrib.auth import get_user_model

    pk = client.session.get("_auth_user_id")
    return get_user_model().objects.get(pk=pk) if pk else None


def test_github_sign_in_end_to_end(client, github):
    response = sign_in(client)
    assert response.status_code == 302 and response["Location"] == "/done/"
    user = signed_in_user(client)
    account = LinkedAccount.objects.get(provider="github")
    assert account.user == user and account.subject == "583231"  # numeric id, as text
    # The verified primary address, not the public or an unverified one.
    assert account.email == "octocat@example.com"
    assert user.username == "octocat" and user.email == "octocat@example.com"


def test_an_oauth2_providers_id_token_is_not_kept(client, github):
    # Nothing validates an ID token from a plain OAuth 2 provider: it must not be stored as
    # if it were one (tokens.StoredToken.id_token).
    # STORE_TOKENS is on by default.
    github.extra_answer = {"id_token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJtYWxsb3J5In0."}

    response = sign_in(client)

    assert response.status_code == 302 and response["Location"] == "/done/"
    stored = StoredToken.objects.get(account__provider="github")
    assert stored.access_token and not stored.id_token


def test_github_token_request_shape(client, github):
    start = client.post("/accounts/oauth/github/login/")
    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["scope"] == ["read:user user:email"]
    assert query["code_challenge_method"] == ["S256"] and "nonce" not in query
    approve = requests.get(start["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(approve.headers["Location"])
    client.get(back.path + "?" + back.query)
    (request,) = github.token_requests
    assert request["accept"] == "application/json"
    form = request["form"]
    assert form["grant_type"] == "authorization_code"
    assert (form["client_id"], form["client_secret"]) == (CLIENT_ID, CLIENT_SECRET)
    assert form["redirect_uri"] == "http://testserver/accounts/oauth/github/callback/"


def test_github_verified_primary_email_links_an_existing_user(client, github, settings):
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "LOGIN": {**settings.OAUTHKIT["LOGIN"], "LINK_BY_VERIFIED_EMAIL": True},
    }
    existing = UserFactory(username="oc", email="octocat@example.com")
    assert sign_in(client).status_code == 302
    assert signed_in_user(client) == existing
    assert LinkedAccount.objects.get(provider="github").user == existing


def test_github_unverified_emails_never_link_or_fill_the_user(client, github, settings):
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "LOGIN": {**settings.OAUTHKIT["LOGIN"], "LINK_BY_VERIFIED_EMAIL": True},
    }
    victim = UserFactory(username="victim", email="victim@example.com")
    github.emails = [{"email": "victim@example.com", "primary": True, "verified": False}]
    assert sign_in(client).status_code == 302
    user = signed_in_user(client)
    assert user != victim and user.email == ""
    assert LinkedAccount.objects.get(provider="github").email == ""


def test_github_second_sign_in_finds_the_linked_account(client, github):
    sign_in(client)
    first = signed_in_user(client)
    client.logout()
    sign_in(client)
    assert signed_in_user(client) == first
    assert LinkedAccount.objects.count() == 1


def test_github_token_error_answered_with_200_shows_the_error_page(client, github):
    github.token_answer = {"error": "bad_verification_code", "error_description": "Wrong code."}
    response = sign_in(client)
    assert response.status_code == 400
    assert b"bad_verification_code" in response.content
    assert signed_in_user(client) is None and not LinkedAccount.objects.exists()


def test_generic_oauth2_kind_maps_dotted_paths_from_settings(client, github):
    github.acme_profile = {
        "data": {
            "account": {"number": 42},
            "handle": "ada",
            "name": "Ada Lovelace",
            "emails": [{"address": "ada@example.com", "confirmed": True}],
        }
    }
    assert sign_in(client, "acme").status_code == 302
    account = LinkedAccount.objects.get(provider="acme")
    assert account.subject == "42"
    assert account.email == "ada@example.com"
    user = signed_in_user(client)
    assert (user.username, user.email) == ("ada", "ada@example.com")
    # Name mapping turned off in settings: not read from the profile.
    profile = get_provider("acme").profile_from(github.acme_profile)
    assert profile.name is None and profile.email_verified is True


def test_generic_oauth2_without_a_subject_is_refused(client, github):
    github.acme_profile = {"data": {"handle": "ada"}}
    response = sign_in(client, "acme")
    assert response.status_code == 400
    assert b"invalid_userinfo" in response.content
    assert signed_in_user(client) is None and not LinkedAccount.objects.exists()


# --- The mapping rules, on the provider directly ---------------------------------------


def generic(mapping=None, **entry):
    values = {"kind": "oauth2", "client_id": "c", "userinfo_endpoint": "https://api.example/me"}
    if mapping is not None:
        values["settings"] = {"profile_mapping": mapping}
    return build_provider("generic", {**values, **entry})


def test_generic_default_mapping_and_subject_as_text():
    profile = generic().profile_from(
        {"id": 7, "email": "a@example.com", "username": "a", "name": "A", "picture": "p"}
    )
    assert profile.subject == "7"
    assert (profile.email, profile.email_verified) == ("a@example.com", False)
    assert (profile.username, profile.name, profile.picture) == ("a", "A", "p")


@pytest.mark.parametrize("subject", [None, "", "  ", True, {"id": 1}, [1], 1.5, "x" * 256])
def test_generic_refuses_a_missing_or_unusable_subject(subject):
    with pytest.raises(InvalidUserInfo):
        generic().profile_from({"id": subject} if subject is not None else {})


@pytest.mark.parametrize(
    ("flag", "verified"), [(True, True), ("true", True), (False, False), ("yes", False), (1, False)]
)
def test_generic_email_verified_only_for_true(flag, verified):
    provider = generic({"email_verified": "ok"})
    assert provider.profile_from({"id": 1, "email": "a@b.c", "ok": flag}).email_verified is verified
    # A verification flag without an email verifies nothing.
    assert provider.profile_from({"id": 1, "ok": True}).email_verified is False


def test_generic_paths_index_lists_and_ignore_wrong_shapes():
    provider = generic({"subject": "users.1.id", "email": "users.1.mail.0", "name": "users.9.n"})
    profile = provider.profile_from({"users": [{"id": "a"}, {"id": "b", "mail": ["b@x.y"]}]})
    assert (profile.subject, profile.email, profile.name) == ("b", "b@x.y", None)
    with pytest.raises(InvalidUserInfo):
        provider.profile_from({"users": "not a list"})


@pytest.mark.parametrize("mapping", [{"phone": "tel"}, {"email": ["mail"]}])
def test_generic_bad_mapping_fails_when_built(mapping):
    with pytest.raises(ConfigurationError):
        generic(mapping)


def test_generic_token_answer_without_access_token_is_refused(github):
    provider = get_provider("acme")
    github.token_answer = {"token_type": "bearer"}
    from oauthkit.login.http import ProviderHTTP

    with pytest.raises(ProviderUnavailable):
        provider.token_request(ProviderHTTP(), {"grant_type": "x"}, provider.token_endpoint)


def test_generic_kind_is_registered_as_oauth2():
    assert isinstance(generic(), OAuth2Provider) and generic().kind == "oauth2"


def test_generic_without_scopes_sends_no_scope_parameter(client, github, settings):
    providers = settings.OAUTHKIT["LOGIN"]["PROVIDERS"]
    acme = {**providers["acme"], "scopes": []}
    settings.OAUTHKIT = {**settings.OAUTHKIT, "LOGIN": {"PROVIDERS": {**providers, "acme": acme}}}
    start = client.post("/accounts/oauth/acme/login/")
    query = parse_qs(urlsplit(start["Location"]).query, keep_blank_values=True)
    assert "scope" not in query and query["client_id"] == [CLIENT_ID]
