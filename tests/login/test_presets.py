"""Provider presets: endpoints, scopes, client authentication and profile mapping.

Provider URLs are only compared as strings: every HTTP call goes to ``FakeSession``,
which answers recorded-shape samples for the exact URLs a preset asks for and fails
the test for any other URL. Nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from types import SimpleNamespace

import pytest
import requests
from django.http import QueryDict
from django.test import RequestFactory

from oauthkit import jose
from oauthkit.login.errors import (
    AccountError,
    ConfigurationError,
    InvalidIDToken,
    ProviderError,
    ProviderUnavailable,
)
from oauthkit.login.http import ProviderHTTP
from oauthkit.login.id_token import validate_id_token
from oauthkit.login.providers import build_provider, registered
from oauthkit.login.providers.base import s256

CLIENT_ID = "client-123"
TOKEN = {"access_token": "at-1", "token_type": "Bearer"}
PRESETS = ("google", "microsoft", "github", "gitlab", "apple", "facebook", "discord", "slack", "x")


class FakeSession:
    """Stands in for ``requests.Session``: ``routes`` maps (method, url) to (status, body)."""

    def __init__(self, routes: dict[tuple[str, str], tuple[int, object]]):
        self.routes = routes
        self.headers: dict[str, str] = {}
        self.calls: list[dict] = []

    def request(self, method, url, **kwargs):
        self.calls.append({"method": method, "url": url, **kwargs})
        assert (method, url) in self.routes, f"unexpected request {method} {url}"
        status, body = self.routes[(method, url)]
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode()
        return response


def fake_http(routes):
    session = FakeSession(routes)
    return ProviderHTTP(session), session


def build(preset: str, **entry):
    entry = {"preset": preset, "client_id": CLIENT_ID, "client_secret": "s3cret", **entry}
    return build_provider(preset, entry)


def authorization_query(provider) -> dict[str, str]:
    request = RequestFactory().get("/")
    pending = SimpleNamespace(
        state="st", nonce="no", code_verifier="v" * 43, redirect_uri="https://rp.example/cb"
    )
    return provider.authorization_params(request, pending)


def test_every_preset_is_registered_under_its_slug():
    classes = registered()
    for slug in PRESETS:
        assert classes[slug].slug == slug
    assert classes["oauth2"].kind == "oauth2"


@pytest.mark.parametrize("slug", PRESETS)
def test_every_preset_sends_state_and_s256_pkce(slug):
    provider = build(slug, **({"settings": {"tenant": "common"}} if slug == "microsoft" else {}))
    query = authorization_query(provider)
    assert query["state"] == "st"
    assert query["response_type"] == "code"
    assert query["code_challenge"] == s256("v" * 43)
    assert query["code_challenge_method"] == "S256"
    # OIDC presets send a nonce; the others have no ID token to carry one.
    assert ("nonce" in query) == (provider.kind == "oidc")


# --- Google -----------------------------------------------------------------------------


def test_google_endpoints_scopes_and_auth_method():
    google = build("google")
    assert google.kind == "oidc"
    assert google.metadata() == {
        "issuer": "https://accounts.google.com",
        "authorization_endpoint": "https://accounts.google.com/o/oauth2/v2/auth",
        "token_endpoint": "https://oauth2.googleapis.com/token",
        "userinfo_endpoint": "https://openidconnect.googleapis.com/v1/userinfo",
        "jwks_uri": "https://www.googleapis.com/oauth2/v3/certs",
        "revocation_endpoint": "https://oauth2.googleapis.com/revoke",
    }
    assert google.scopes == ["openid", "email", "profile"]
    assert google.token_endpoint_auth_method == "client_secret_basic"


GOOGLE_CLAIMS = {
    "iss": "https://accounts.google.com",
    "sub": "110169484474386276334",
    "email": "ada@gmail.com",
    "email_verified": True,
    "name": "Ada Lovelace",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "picture": "https://lh3.googleusercontent.com/a/abc",
}


def test_google_profile_from_id_token_without_userinfo_call():
    http, session = fake_http({})
    profile = build("google").fetch_profile(http, TOKEN, GOOGLE_CLAIMS)
    assert session.calls == []  # the ID token already had email and name
    assert (profile.subject, profile.email, profile.email_verified) == (
        "110169484474386276334",
        "ada@gmail.com",
        True,
    )
    assert (profile.given_name, profile.family_name) == ("Ada", "Lovelace")
    assert profile.picture == "https://lh3.googleusercontent.com/a/abc"


def test_google_unverified_email_stays_unverified():
    claims = {**GOOGLE_CLAIMS, "email_verified": False}
    profile = build("google").fetch_profile(fake_http({})[0], TOKEN, claims)
    assert profile.email == "ada@gmail.com" and profile.email_verified is False


def test_google_accepts_both_documented_issuer_forms_only():
    google = build("google")
    assert google.check_issuer({"iss": "https://accounts.google.com"})
    assert google.check_issuer({"iss": "accounts.google.com"})
    assert not google.check_issuer({"iss": "https://accounts.google.com.evil.example"})


def test_google_hosted_domain_is_requested_and_enforced():
    google = build("google", settings={"hosted_domain": "example.com"})
    assert authorization_query(google)["hd"] == "example.com"
    http = fake_http({})[0]
    assert google.fetch_profile(http, TOKEN, {**GOOGLE_CLAIMS, "hd": "example.com"}).subject
    with pytest.raises(AccountError):
        google.fetch_profile(http, TOKEN, GOOGLE_CLAIMS)  # a gmail.com account has no hd
    with pytest.raises(AccountError):
        google.fetch_profile(http, TOKEN, {**GOOGLE_CLAIMS, "hd": "other.example"})


# --- Microsoft --------------------------------------------------------------------------

TENANT_A = "72f988bf-86f1-41af-91ab-2d7cd011db47"
TENANT_B = "0a1b2c3d-0000-4000-8000-123456789abc"
CONSUMERS = "9188040d-6c67-4c5b-b112-36a304b66dad"
MS = "https://login.microsoftonline.com"


def test_microsoft_common_endpoints_and_issuer_template():
    ms = build("microsoft")
    assert ms.metadata() == {
        "issuer": f"{MS}/{{tenantid}}/v2.0",
        "authorization_endpoint": f"{MS}/common/oauth2/v2.0/authorize",
        "token_endpoint": f"{MS}/common/oauth2/v2.0/token",
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "jwks_uri": f"{MS}/common/discovery/v2.0/keys",
        "end_session_endpoint": f"{MS}/common/oauth2/v2.0/logout",
    }
    assert ms.scopes == ["openid", "email", "profile"]
    assert ms.token_endpoint_auth_method == "client_secret_basic"


def test_microsoft_single_tenant_endpoints():
    ms = build("microsoft", settings={"tenant": TENANT_A})
    assert ms.issuer == f"{MS}/{TENANT_A}/v2.0"
    assert ms.authorization_endpoint == f"{MS}/{TENANT_A}/oauth2/v2.0/authorize"


def test_microsoft_refuses_an_unusable_tenant_setting():
    with pytest.raises(ConfigurationError):
        build("microsoft", settings={"tenant": "contoso.onmicrosoft.com/../x"})


@pytest.fixture
def ms_key():
    return jose.generate_key("RS256")


def ms_token(key, tid, *, iss=None, **extra):
    now = int(time.time())
    claims = {
        "iss": iss or f"{MS}/{tid}/v2.0",
        "aud": CLIENT_ID,
        "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "tid": tid,
        "oid": "00000000-0000-0000-66f3-3332eca7ea81",
        "iat": now,
        "exp": now + 600,
        "nonce": "n-1",
        "email": "ada@contoso.com",
        "name": "Ada",
        **extra,
    }
    return jose.sign(claims, key)


def validate(provider, key, token):
    jwks = {"keys": [jose.public_jwk(key)]}
    http, _ = fake_http({("GET", provider.jwks_uri): (200, jwks)})
    return validate_id_token(provider, token, nonce="n-1", http=http)


def test_microsoft_common_accepts_the_issuer_of_the_tokens_own_tenant(ms_key):
    ms = build("microsoft")
    claims = validate(ms, ms_key, ms_token(ms_key, TENANT_A))
    assert claims["tid"] == TENANT_A


def test_microsoft_issuer_must_be_the_template_with_the_tokens_tid(ms_key):
    ms = build("microsoft")
    # A token of tenant A claiming tenant B's issuer (or any other URL) is refused.
    for iss in (
        f"{MS}/{TENANT_B}/v2.0",
        f"{MS}/{{tenantid}}/v2.0",
        f"https://evil.example/{TENANT_A}/v2.0",
    ):
        with pytest.raises(InvalidIDToken) as exc:
            validate(ms, ms_key, ms_token(ms_key, TENANT_A, iss=iss))
        assert exc.value.code == "iss"


def test_microsoft_tokens_without_a_tenant_id_are_refused(ms_key):
    ms = build("microsoft")
    for tid in (None, "common", "../x"):
        token = ms_token(ms_key, tid, iss=f"{MS}/{tid}/v2.0")
        with pytest.raises(InvalidIDToken):
            validate(ms, ms_key, token)


def test_microsoft_configured_tenant_refuses_another_tenants_token(ms_key):
    ms = build("microsoft", settings={"tenant": TENANT_A})
    assert validate(ms, ms_key, ms_token(ms_key, TENANT_A))["tid"] == TENANT_A
    with pytest.raises(InvalidIDToken) as exc:
        validate(ms, ms_key, ms_token(ms_key, TENANT_B))
    assert exc.value.code == "iss"


def test_microsoft_allowed_tenants_and_account_type_audiences():
    def accepts(ms, tid):
        return ms.check_issuer({"iss": f"{MS}/{tid}/v2.0", "tid": tid})

    listed = build("microsoft", settings={"allowed_tenants": [TENANT_A]})
    assert accepts(listed, TENANT_A) and not accepts(listed, TENANT_B)
    consumers = build("microsoft", settings={"tenant": "consumers"})
    assert accepts(consumers, CONSUMERS) and not accepts(consumers, TENANT_A)
    organizations = build("microsoft", settings={"tenant": "organizations"})
    assert accepts(organizations, TENANT_A) and not accepts(organizations, CONSUMERS)


MS_CLAIMS = {
    "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
    "tid": TENANT_A,
    "email": "ada@contoso.com",
    "name": "Ada Lovelace",
    "preferred_username": "ada@contoso.com",
}


@pytest.mark.parametrize(
    ("extra", "verified"),
    [
        ({}, False),
        ({"email_verified": True}, False),  # not a claim Entra vouches with
        ({"xms_edov": False}, False),
        ({"xms_edov": True}, True),
        ({"verified_primary_email": ["ADA@contoso.com"]}, True),
        ({"verified_secondary_email": ["other@contoso.com"]}, False),
    ],
)
def test_microsoft_email_is_unverified_unless_entra_vouches_for_it(extra, verified):
    profile = build("microsoft").fetch_profile(fake_http({})[0], TOKEN, {**MS_CLAIMS, **extra})
    assert profile.email == "ada@contoso.com"
    assert profile.email_verified is verified
    assert profile.username == "ada@contoso.com"
    assert profile.subject == MS_CLAIMS["sub"]


# --- GitHub -----------------------------------------------------------------------------

GITHUB_USER = {
    "login": "octocat",
    "id": 583231,
    "node_id": "MDQ6VXNlcjU4MzIzMQ==",
    "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
    "name": "The Octocat",
    "email": "octocat@github.com",
}
GITHUB_EMAILS = [
    {"email": "unverified@example.com", "primary": False, "verified": False, "visibility": None},
    {"email": "octocat@github.com", "primary": True, "verified": True, "visibility": "public"},
    {"email": "second@example.com", "primary": False, "verified": True, "visibility": None},
]


def github_http(emails=GITHUB_EMAILS):
    return fake_http(
        {
            ("GET", "https://api.github.com/user"): (200, GITHUB_USER),
            ("GET", "https://api.github.com/user/emails"): (200, emails),
        }
    )


def test_github_endpoints_scopes_and_auth_method():
    github = build("github")
    assert github.kind == "oauth2"
    assert github.metadata() == {
        "authorization_endpoint": "https://github.com/login/oauth/authorize",
        "token_endpoint": "https://github.com/login/oauth/access_token",
        "userinfo_endpoint": "https://api.github.com/user",
    }
    assert github.scopes == ["read:user", "user:email"]
    assert github.token_endpoint_auth_method == "client_secret_post"


def test_github_profile_subject_login_and_verified_primary_email():
    http, session = github_http()
    profile = build("github").fetch_profile(http, TOKEN, None)
    assert profile.subject == "583231"
    assert profile.username == "octocat"
    assert profile.name == "The Octocat"
    assert profile.picture == GITHUB_USER["avatar_url"]
    assert (profile.email, profile.email_verified) == ("octocat@github.com", True)
    assert {c["headers"]["Authorization"] for c in session.calls} == {"Bearer at-1"}
    assert session.calls[0]["headers"]["Accept"] == "application/vnd.github+json"


def test_github_unverified_primary_falls_back_to_a_verified_address():
    emails = [
        {"email": "primary@example.com", "primary": True, "verified": False},
        {"email": "second@example.com", "primary": False, "verified": True},
    ]
    profile = build("github").fetch_profile(github_http(emails)[0], TOKEN, None)
    assert (profile.email, profile.email_verified) == ("second@example.com", True)


def test_github_without_a_verified_address_has_no_email():
    emails = [{"email": "primary@example.com", "primary": True, "verified": False}]
    profile = build("github").fetch_profile(github_http(emails)[0], TOKEN, None)
    # /user's public email is not used either: only /user/emails says what is verified.
    assert (profile.email, profile.email_verified) == (None, False)


def test_github_app_without_email_permission_signs_in_without_email():
    http, _ = fake_http(
        {
            ("GET", "https://api.github.com/user"): (200, GITHUB_USER),
            ("GET", "https://api.github.com/user/emails"): (403, {"message": "Not accessible"}),
        }
    )
    profile = build("github").fetch_profile(http, TOKEN, None)
    assert (profile.subject, profile.email, profile.email_verified) == ("583231", None, False)


def test_github_emails_outage_is_not_mistaken_for_no_email():
    http, _ = fake_http(
        {
            ("GET", "https://api.github.com/user"): (200, GITHUB_USER),
            ("GET", "https://api.github.com/user/emails"): (502, {"message": "Bad gateway"}),
        }
    )
    with pytest.raises(ProviderUnavailable):
        build("github").fetch_profile(http, TOKEN, None)


def test_github_token_error_with_status_200_is_a_provider_error():
    http, session = fake_http(
        {
            ("POST", "https://github.com/login/oauth/access_token"): (
                200,
                {"error": "bad_verification_code", "error_description": "The code is wrong."},
            )
        }
    )
    github = build("github")
    with pytest.raises(ProviderError) as exc:
        github.token_request(
            http, {"grant_type": "authorization_code", "code": "c"}, github.token_endpoint
        )
    assert exc.value.code == "bad_verification_code"
    assert session.calls[0]["data"]["client_secret"] == "s3cret"  # client_secret_post


# --- GitLab -----------------------------------------------------------------------------


def test_gitlab_endpoints_for_gitlab_com_and_a_self_hosted_instance():
    assert build("gitlab").metadata() == {
        "issuer": "https://gitlab.com",
        "authorization_endpoint": "https://gitlab.com/oauth/authorize",
        "token_endpoint": "https://gitlab.com/oauth/token",
        "userinfo_endpoint": "https://gitlab.com/oauth/userinfo",
        "jwks_uri": "https://gitlab.com/oauth/discovery/keys",
        "revocation_endpoint": "https://gitlab.com/oauth/revoke",
    }
    own = build("gitlab", issuer="https://git.example.org")
    assert own.metadata()["token_endpoint"] == "https://git.example.org/oauth/token"
    assert own.check_issuer({"iss": "https://git.example.org"})
    assert not own.check_issuer({"iss": "https://gitlab.com"})
    assert build("gitlab").scopes == ["openid", "email", "profile"]


def test_gitlab_profile_from_id_token():
    claims = {
        "iss": "https://gitlab.com",
        "sub": "1234567",
        "nickname": "ada",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "email_verified": True,
        "picture": "https://gitlab.com/uploads/-/system/user/avatar/1234567/avatar.png",
        "groups_direct": ["analytical-engines"],
    }
    profile = build("gitlab").fetch_profile(fake_http({})[0], TOKEN, claims)
    assert (profile.subject, profile.username, profile.email_verified) == ("1234567", "ada", True)


# --- Apple ------------------------------------------------------------------------------


@pytest.fixture
def apple_key():
    key = jose.generate_key("ES256")
    return key, key.export_to_pem(private_key=True, password=None).decode()


def apple(apple_key, **settings):
    _, pem = apple_key
    values = {"team_id": "TEAM123456", "key_id": "KEY1234567", "private_key": pem, **settings}
    return build("apple", client_id="com.example.web", settings=values)


def test_apple_endpoints_scopes_auth_method_and_form_post(apple_key):
    provider = apple(apple_key)
    assert provider.metadata() == {
        "issuer": "https://appleid.apple.com",
        "authorization_endpoint": "https://appleid.apple.com/auth/authorize",
        "token_endpoint": "https://appleid.apple.com/auth/token",
        "jwks_uri": "https://appleid.apple.com/auth/keys",
        "revocation_endpoint": "https://appleid.apple.com/auth/revoke",
    }
    assert provider.scopes == ["openid", "name", "email"]
    assert provider.token_endpoint_auth_method == "client_secret_post"
    assert authorization_query(provider)["response_mode"] == "form_post"
    only_openid = build("apple", scopes=["openid"], settings=provider.config.settings)
    assert "response_mode" not in authorization_query(only_openid)


def apple_token_request(provider):
    http, session = fake_http(
        {
            ("POST", "https://appleid.apple.com/auth/token"): (
                200,
                {"access_token": "a", "id_token": "i"},
            )
        }
    )
    provider.token_request(
        http, {"grant_type": "authorization_code", "code": "c"}, provider.token_endpoint
    )
    return session.calls[0]["data"]


def test_apple_client_secret_is_an_es256_jwt_signed_with_the_team_key(apple_key):
    key, _ = apple_key
    form = apple_token_request(apple(apple_key))
    assert form["client_id"] == "com.example.web"
    secret = form["client_secret"]
    public = jose.parse_key(jose.public_jwk(key))
    header, claims = jose.verify(secret, {"KEY1234567": public}, algs=("ES256",))
    assert header == {"alg": "ES256", "kid": "KEY1234567"}
    assert claims["iss"] == "TEAM123456"
    assert claims["aud"] == "https://appleid.apple.com"
    assert claims["sub"] == "com.example.web"
    assert 0 < claims["exp"] - claims["iat"] <= 300
    assert abs(claims["iat"] - time.time()) < 60


def test_apple_client_secret_never_outlives_six_months(apple_key):
    form = apple_token_request(apple(apple_key, client_secret_lifetime=10**9))
    claims = json.loads(jose._b64decode(form["client_secret"].split(".")[1]))
    assert claims["exp"] - claims["iat"] == 15_777_000


def test_apple_client_secret_signed_by_another_key_does_not_verify(apple_key):
    form = apple_token_request(apple(apple_key))
    other = jose.parse_key(jose.public_jwk(jose.generate_key("ES256")))
    with pytest.raises(jose.JOSEError):
        jose.verify(form["client_secret"], {"KEY1234567": other}, algs=("ES256",))


@pytest.mark.parametrize("missing", ["team_id", "key_id", "private_key"])
def test_apple_without_its_key_settings_is_a_configuration_error(apple_key, missing):
    provider = apple(apple_key, **{missing: ""})
    with pytest.raises(ConfigurationError):
        provider.client_secret_for_token_request()


APPLE_CLAIMS = {
    "iss": "https://appleid.apple.com",
    "sub": "001234.5f1e2d3c4b5a.0123",
    "email": "x7@privaterelay.appleid.com",
    "email_verified": "true",
    "is_private_email": "true",
}


def test_apple_profile_verified_email_and_name_from_the_first_callback(apple_key):
    provider = apple(apple_key)
    http, session = fake_http({})
    profile = provider.fetch_profile(http, TOKEN, APPLE_CLAIMS)
    assert session.calls == []  # Apple has no UserInfo endpoint
    assert (profile.subject, profile.email, profile.email_verified) == (
        "001234.5f1e2d3c4b5a.0123",
        "x7@privaterelay.appleid.com",
        True,
    )
    user = {"name": {"firstName": "Ada", "lastName": "Lovelace"}, "email": "forged@example.com"}
    params = QueryDict(mutable=True)
    params["user"] = json.dumps(user)
    profile = provider.complete_profile(profile, params)
    assert (profile.given_name, profile.family_name, profile.name) == (
        "Ada",
        "Lovelace",
        "Ada Lovelace",
    )
    assert profile.email == "x7@privaterelay.appleid.com"  # the unsigned user field is ignored


@pytest.mark.parametrize("user", [None, "", "not json", "[1]", '{"name": "Ada"}'])
def test_apple_later_callbacks_or_junk_user_field_leave_the_profile(apple_key, user):
    provider = apple(apple_key)
    profile = provider.fetch_profile(fake_http({})[0], TOKEN, APPLE_CLAIMS)
    params = QueryDict(mutable=True)
    if user is not None:
        params["user"] = user
    assert provider.complete_profile(profile, params).name is None


# --- Facebook ---------------------------------------------------------------------------

FACEBOOK_ME = {
    "id": "10158123456789012",
    "name": "Ada Lovelace",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "picture": {
        "data": {
            "height": 50,
            "is_silhouette": False,
            "url": "https://platform-lookaside.fbsbx.com/p.jpg",
            "width": 50,
        }
    },
}


def test_facebook_endpoints_scopes_auth_method_and_graph_profile():
    fb = build("facebook")
    assert fb.metadata() == {
        "authorization_endpoint": "https://www.facebook.com/v21.0/dialog/oauth",
        "token_endpoint": "https://graph.facebook.com/v21.0/oauth/access_token",
        "userinfo_endpoint": "https://graph.facebook.com/v21.0/me",
    }
    assert fb.scopes == ["email", "public_profile"]
    assert fb.token_endpoint_auth_method == "client_secret_post"
    proof = hmac.new(b"s3cret", b"at-1", hashlib.sha256).hexdigest()
    url = (
        "https://graph.facebook.com/v21.0/me?fields=id%2Cname%2Cemail%2Cfirst_name%2Clast_name"
        f"%2Cpicture&appsecret_proof={proof}"
    )
    http, _ = fake_http({("GET", url): (200, FACEBOOK_ME)})
    profile = fb.fetch_profile(http, TOKEN, None)
    assert profile.subject == "10158123456789012"
    assert (profile.given_name, profile.family_name) == ("Ada", "Lovelace")
    assert profile.picture == "https://platform-lookaside.fbsbx.com/p.jpg"
    assert (profile.email, profile.email_verified) == ("ada@example.com", False)


# --- Discord ----------------------------------------------------------------------------

DISCORD_ME = {
    "id": "80351110224678912",
    "username": "nelly",
    "global_name": "Nelly",
    "avatar": "8342729096ea3675442027381ff50dfe",
    "email": "nelly@discord.com",
    "verified": True,
}


def discord_profile(me):
    http, _ = fake_http({("GET", "https://discord.com/api/users/@me"): (200, me)})
    return build("discord").fetch_profile(http, TOKEN, None)


def test_discord_endpoints_scopes_and_profile():
    discord = build("discord")
    assert discord.metadata() == {
        "authorization_endpoint": "https://discord.com/oauth2/authorize",
        "token_endpoint": "https://discord.com/api/oauth2/token",
        "userinfo_endpoint": "https://discord.com/api/users/@me",
        "revocation_endpoint": "https://discord.com/api/oauth2/token/revoke",
    }
    assert discord.scopes == ["identify", "email"]
    assert discord.token_endpoint_auth_method == "client_secret_basic"
    profile = discord_profile(DISCORD_ME)
    assert (profile.subject, profile.username, profile.name) == (
        "80351110224678912",
        "nelly",
        "Nelly",
    )
    assert (profile.email, profile.email_verified) == ("nelly@discord.com", True)
    assert profile.picture == (
        "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png"
    )


def test_discord_unverified_email_and_odd_avatar():
    profile = discord_profile({**DISCORD_ME, "verified": False, "avatar": "../../evil"})
    assert (profile.email, profile.email_verified) == ("nelly@discord.com", False)
    assert profile.picture is None


# --- Slack ------------------------------------------------------------------------------

SLACK_CLAIMS = {
    "iss": "https://slack.com",
    "sub": "U0R7JM",
    "https://slack.com/user_id": "U0R7JM",
    "https://slack.com/team_id": "T0R7GR",
    "email": "krane@slack-corp.com",
    "email_verified": True,
    "name": "krane",
    "picture": "https://secure.gravatar.com/avatar/x.jpg",
}


def test_slack_endpoints_scopes_auth_method_and_profile():
    slack = build("slack")
    assert slack.metadata() == {
        "issuer": "https://slack.com",
        "authorization_endpoint": "https://slack.com/openid/connect/authorize",
        "token_endpoint": "https://slack.com/api/openid.connect.token",
        "userinfo_endpoint": "https://slack.com/api/openid.connect.userInfo",
        "jwks_uri": "https://slack.com/openid/connect/keys",
    }
    assert slack.scopes == ["openid", "email", "profile"]
    assert slack.token_endpoint_auth_method == "client_secret_post"
    profile = slack.fetch_profile(fake_http({})[0], TOKEN, SLACK_CLAIMS)
    assert (profile.subject, profile.email_verified) == ("U0R7JM", True)


def test_slack_error_answered_with_status_200_is_a_provider_error():
    slack = build("slack")
    http, _ = fake_http(
        {("POST", slack.token_endpoint): (200, {"ok": False, "error": "invalid_code"})}
    )
    with pytest.raises(ProviderError) as exc:
        slack.token_request(
            http, {"grant_type": "authorization_code", "code": "c"}, slack.token_endpoint
        )
    assert exc.value.code == "invalid_code"


def test_slack_team_is_requested_and_enforced():
    slack = build("slack", settings={"team": "T0R7GR"})
    assert authorization_query(slack)["team"] == "T0R7GR"
    http = fake_http({})[0]
    assert slack.fetch_profile(http, TOKEN, SLACK_CLAIMS).subject == "U0R7JM"
    with pytest.raises(AccountError):
        slack.fetch_profile(http, TOKEN, {**SLACK_CLAIMS, "https://slack.com/team_id": "T999"})


# --- X ----------------------------------------------------------------------------------


def test_x_endpoints_scopes_pkce_and_nested_profile():
    x = build("x")
    assert x.metadata() == {
        "authorization_endpoint": "https://x.com/i/oauth2/authorize",
        "token_endpoint": "https://api.x.com/2/oauth2/token",
        "userinfo_endpoint": "https://api.x.com/2/users/me?user.fields=profile_image_url",
        "revocation_endpoint": "https://api.x.com/2/oauth2/revoke",
    }
    assert x.scopes == ["users.read", "tweet.read"]
    assert x.token_endpoint_auth_method == "client_secret_basic"
    assert x.pkce is True
    me = {
        "data": {
            "id": "2244994945",
            "name": "X Dev",
            "username": "XDevelopers",
            "profile_image_url": "https://pbs.twimg.com/profile_images/1/x_normal.jpg",
        }
    }
    http, _ = fake_http({("GET", x.userinfo_endpoint): (200, me)})
    profile = x.fetch_profile(http, TOKEN, None)
    assert (profile.subject, profile.username, profile.name) == (
        "2244994945",
        "XDevelopers",
        "X Dev",
    )
    assert (profile.email, profile.email_verified) == (None, False)


def test_a_public_x_client_sends_only_its_client_id():
    x = build("x", client_secret="", token_endpoint_auth_method="none")
    http, session = fake_http(
        {("POST", x.token_endpoint): (200, {"access_token": "a", "token_type": "bearer"})}
    )
    x.token_request(
        http,
        {"grant_type": "authorization_code", "code": "c", "code_verifier": "v"},
        x.token_endpoint,
    )
    call = session.calls[0]
    assert call["data"]["client_id"] == CLIENT_ID and "client_secret" not in call["data"]
    assert "Authorization" not in call["headers"]


def test_the_settings_snippets_of_the_docs_build_providers():
    import re
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "login-providers.md").read_text()
    entries = {}
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        scope = {"env": lambda name: f"value-of-{name}"}
        if block.lstrip().startswith('"'):
            entries.update(eval("{" + block + "}", scope))
        else:
            exec(block, scope)
            entries.update(scope["OAUTHKIT"]["LOGIN"]["PROVIDERS"])
    assert set(PRESETS) | {"okta", "acme"} <= set(entries)
    for slug, entry in entries.items():
        assert build_provider(slug, entry).slug == slug
