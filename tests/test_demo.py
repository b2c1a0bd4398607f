"""``manage.py seed_demo`` (example project): idempotent, and what it prints really works."""

import io
import shlex
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

import example_project.settings as example_project_settings
from example_project.demo.management.commands import seed_demo
from oauthkit.provider.models import Client, SigningKey
from oauthkit.provider.pkce import s256
from tests.helpers import basic, consent_form, post_form, query_of

# The printed lines name the example API's URLs, so the example project's URLconf is used.
pytestmark = [pytest.mark.django_db, pytest.mark.urls("example_project.urls")]


@pytest.fixture(autouse=True)
def example_settings(settings):
    # As tests/test_example_api.py: the example URLs import the example apps' modules, and
    # the provider must know the example API's scopes (example_project/settings.py).
    settings.INSTALLED_APPS = [
        *settings.INSTALLED_APPS,
        "example_project.demo",
        "example_project.api",
    ]
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "SCOPES": example_project_settings.OAUTHKIT["SCOPES"],
    }


def run_seed() -> str:
    # The demo app is not installed in the test settings, so pass the command itself.
    out = io.StringIO()
    call_command(seed_demo.Command(), stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    """Every row seed_demo writes, with the fields that would change on a rewrite."""
    users = get_user_model().objects.order_by("username")
    clients = Client.objects.order_by("client_id")
    return {
        "users": list(users.values_list("username", "password", "is_superuser")),
        "clients": list(clients.values_list("client_id", "secret_hash", "updated")),
        "keys": list(SigningKey.objects.values_list("kid", flat=True)),
    }


def printed_line(output: str, prefix: str, *parts: str) -> str:
    """The one printed line starting with ``prefix`` and containing every one of ``parts``."""
    lines = [
        line.strip()
        for line in output.splitlines()
        if line.strip().startswith(prefix) and all(p in line for p in parts)
    ]
    assert len(lines) == 1, (prefix, parts, output)
    return lines[0]


def split_url(url: str) -> str:
    """The path of a printed URL, after checking it points at the demo server."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == seed_demo.BASE_URL
    return parts.path


def run_curl(http, line: str, **replace: str):
    """Send what a printed ``curl -u ID:SECRET -d k=v ... URL`` line sends, via the test client."""
    words = shlex.split(line)
    assert words[0] == "curl"
    user = words[words.index("-u") + 1]
    data = dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "-d")
    data = {k: replace.get(v, v) for k, v in data.items()}
    client_id, secret = user.split(":", 1)
    return post_form(http, split_url(words[-1]), data, HTTP_AUTHORIZATION=basic(client_id, secret))


def run_bearer_curl(http, line: str, token: str):
    """Send what a printed ``curl -H "Authorization: Bearer $TOKEN" URL`` line sends."""
    words = shlex.split(line)  # the shell would expand $TOKEN inside the double quotes
    assert words[:3] == ["curl", "-H", "Authorization: Bearer $TOKEN"], words
    authorization = words[2].split(": ", 1)[1].replace("$TOKEN", token)
    return http.get(split_url(words[3]), HTTP_AUTHORIZATION=authorization)


def test_seed_demo_is_idempotent(settings):
    # No settings key, so seed_demo makes the database key (make demo needs no rotatekeys).
    settings.OAUTHKIT = {**settings.OAUTHKIT, "SIGNING_KEYS": []}
    first = run_seed()
    rows = snapshot()
    second = run_seed()
    assert second == first
    assert snapshot() == rows
    assert len(rows["keys"]) == 1
    assert f"Signing key: {rows['keys'][0]}" in first


def test_seed_demo_keeps_a_configured_key():
    # tests/settings.py provides SIGNING_KEYS: no database key is needed.
    run_seed()
    assert not SigningKey.objects.exists()


def test_seed_demo_creates_users_and_clients(client):
    run_seed()
    assert client.login(username="demo", password="demo")
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password("admin")

    web = Client.objects.get(client_id="demo-web")
    assert web.name == "Demo web app"
    assert web.client_type == Client.ClientType.CONFIDENTIAL
    assert web.check_secret(seed_demo.WEB_CLIENT_SECRET)
    assert web.secret_hash != seed_demo.WEB_CLIENT_SECRET  # stored as a hash only
    assert web.redirect_uris == ["http://127.0.0.1:8000/callback/", seed_demo.LOGIN_REDIRECT_URI]
    assert web.grant_types == ["authorization_code", "refresh_token"]

    service = Client.objects.get(client_id="demo-service")
    assert service.grant_types == ["client_credentials"]
    assert service.check_secret(seed_demo.SERVICE_CLIENT_SECRET)

    # Both may request every scope the example project defines for its API.
    example_scopes = set(example_project_settings.OAUTHKIT["SCOPES"])
    assert set(seed_demo.API_SCOPES) <= example_scopes
    api = {"read", "write", *seed_demo.API_SCOPES}
    assert set(web.scopes) == {"openid", "profile", "email", *api}
    assert set(service.scopes) == api


def test_seed_demo_repairs_a_changed_client():
    run_seed()
    Client.objects.filter(client_id="demo-web").update(redirect_uris=[], secret_hash="x")
    run_seed()
    web = Client.objects.get(client_id="demo-web")
    assert web.redirect_uris == [seed_demo.REDIRECT_URI, seed_demo.LOGIN_REDIRECT_URI]
    assert web.check_secret(seed_demo.WEB_CLIENT_SECRET)


def test_printed_url_and_curl_lines_work(client):
    output = run_seed()
    verifier = printed_line(output, "code_verifier=").removeprefix("code_verifier=")
    url = urlsplit(printed_line(output, f"{seed_demo.BASE_URL}/o/authorize/?"))
    # RFC 7636 §4.2: the printed challenge is S256 of the printed verifier.
    assert query_of(url.geturl())["code_challenge"] == s256(verifier)
    assert query_of(url.geturl())["code_challenge_method"] == "S256"

    client.login(username="demo", password="demo")
    consent = client.get(f"{url.path}?{url.query}")
    answer = client.post(url.path, {**consent_form(consent), "decision": "allow"})
    assert answer.status_code == 303, answer.content
    callback = query_of(answer["Location"])
    assert answer["Location"].startswith(seed_demo.REDIRECT_URI + "?")
    assert callback["state"] == seed_demo.STATE

    redeem_line = printed_line(output, "curl -u demo-web:", "grant_type=authorization_code")
    tokens = run_curl(client, redeem_line, CODE=callback["code"])
    assert tokens.status_code == 200, tokens.content
    assert tokens.json()["scope"] == seed_demo.SCOPE
    # The demo signs in with OpenID Connect too: an ID token echoing the printed nonce.
    from oauthkit import jose
    from oauthkit.provider.keys import key_ring

    id_token = tokens.json()["id_token"]
    claims = jose.verify(id_token, key_ring.verification_keys(), algs=jose.SUPPORTED_ALGORITHMS)[1]
    assert claims["nonce"] == seed_demo.NONCE

    refresh_line = printed_line(output, "curl -u demo-web:", "grant_type=refresh_token")
    refreshed = run_curl(client, refresh_line, REFRESH_TOKEN=tokens.json()["refresh_token"])
    assert refreshed.status_code == 200, refreshed.content

    service_line = printed_line(output, "curl -u demo-service:", "grant_type=client_credentials")
    service = run_curl(client, service_line)
    assert service.status_code == 200, service.content
    assert "refresh_token" not in service.json()  # RFC 6749 §4.4.3

    introspect_line = printed_line(output, "curl -u demo-service:", "-d token=")
    introspected = run_curl(client, introspect_line, ACCESS_TOKEN=refreshed.json()["access_token"])
    assert introspected.json()["active"] is True
    assert introspected.json()["client_id"] == "demo-web"

    # Step 6: the service's token (scope read) calls the example API's ping.
    assert printed_line(output, "TOKEN=") == "TOKEN=ACCESS_TOKEN"
    ping_line = printed_line(output, "curl -H", "/api/ping")
    pong = run_bearer_curl(client, ping_line, service.json()["access_token"])
    assert pong.status_code == 200, pong.content
    assert pong.json() == {"pong": True}
    # RFC 6750 §3.1: the token in the printed line is what lets the request in.
    refused = client.get(split_url(shlex.split(ping_line)[3]))
    assert refused.status_code == 401


def test_demo_clients_may_request_the_example_apis_scopes(client):
    output = run_seed()
    # The web app through the printed authorization URL, asking for API scopes instead.
    url = urlsplit(printed_line(output, f"{seed_demo.BASE_URL}/o/authorize/?"))
    query = {**query_of(url.geturl()), "scope": "read:users read:project:1"}
    client.login(username="demo", password="demo")
    consent = client.get(url.path, query)
    answer = client.post(url.path, {**consent_form(consent), "decision": "allow"})
    assert answer.status_code == 303, answer.content
    redeem_line = printed_line(output, "curl -u demo-web:", "grant_type=authorization_code")
    tokens = run_curl(client, redeem_line, CODE=query_of(answer["Location"])["code"])
    assert tokens.json()["scope"] == "read:users read:project:1"
    client.logout()
    user_token = {"HTTP_AUTHORIZATION": f"Bearer {tokens.json()['access_token']}"}
    assert client.get("/api/users/", **user_token).status_code == 200
    assert client.get("/api/projects/1/", **user_token).status_code == 200

    # The service with client credentials.
    secret = basic(seed_demo.SERVICE_CLIENT_ID, seed_demo.SERVICE_CLIENT_SECRET)
    data = {"grant_type": "client_credentials", "scope": "admin:all"}
    issued = post_form(client, "/o/token/", data, HTTP_AUTHORIZATION=secret)
    assert issued.status_code == 200, issued.content
    service_token = {"HTTP_AUTHORIZATION": f"Bearer {issued.json()['access_token']}"}
    assert client.get("/api/users/", **service_token).status_code == 200
