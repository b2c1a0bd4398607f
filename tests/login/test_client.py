"""The machine-to-machine client (``oauthkit.login.client``).

Two kinds of tests. Against oauthkit's own provider on the live server: discovery, real
tokens, scope and resource honoured by a real protected API, a revoked token replaced after
the API's 401, and the provider's errors. Against a small fake provider and API on
127.0.0.1 (``FakeServer``): caching, the expiry margin (with a substituted clock, no sleep),
the 401 retry rules, concurrent callers, malformed answers and discovery failures.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

import pytest
import requests

from oauthkit.login.client import (
    ClientCredentials,
    DiscoveryError,
    ProviderUnreachable,
    TokenRequestError,
)
from oauthkit.testing.factories import ClientFactory
from tests.resource.helpers import configure

SECRET = "s3cr+t/ü :"  # characters that RFC 6749 §2.3.1 form-urlencoding must escape


# --- A fake provider and API on 127.0.0.1 ----------------------------------------------------


class FakeServer(ThreadingHTTPServer):
    """Token endpoint ``/token`` (answers ``tok-1``, ``tok-2`` ... unless ``token_answer`` is
    set), metadata documents from ``metadata`` (path -> dict), and an API at ``/api`` that
    answers 401 invalid_token for the tokens in ``rejected`` (or all, ``reject_all``)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_port}"
        self.token_requests: list[dict] = []
        self.api_requests: list[dict] = []
        self.metadata: dict[str, dict] = {}
        self.token_answer: tuple[int, object] | None = None
        self.expires_in: object = 3600
        self.rejected: set[str] = set()
        self.reject_all = False
        # Set: the token endpoint received a request; cleared: it holds its answer.
        self.token_received = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.lock = threading.Lock()

    def next_token(self) -> tuple[int, object]:
        with self.lock:
            n = len(self.token_requests)
        if self.token_answer:
            return self.token_answer
        body = {"access_token": f"tok-{n}", "token_type": "Bearer", "expires_in": self.expires_in}
        return 200, {k: v for k, v in body.items() if v is not None}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so that connection reuse can be observed

    def log_message(self, *args):
        pass

    def answer(self, status: int, body: object, **headers: str) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(raw)

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding") == "chunked":
            data = b""
            while size := int(self.rfile.readline().strip(), 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return data
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        server: FakeServer = self.server
        if self.path.startswith("/api"):
            return self.api(b"")
        if self.path.startswith("/redirect"):
            target = f"http://localhost:{server.server_port}/api"
            return self.answer(302, {}, Location=target)
        if self.path in server.metadata:
            return self.answer(200, server.metadata[self.path])
        self.answer(404, {"error": "not_found"})

    def do_POST(self):
        server: FakeServer = self.server
        body = self.read_body()
        if self.path.startswith("/api"):
            return self.api(body)
        if self.path == "/moved":
            return self.answer(307, {}, Location="/token")
        form = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(body.decode()).items()}
        with server.lock:
            server.token_requests.append({"form": form, "headers": dict(self.headers)})
        server.token_received.set()
        server.release.wait(10)
        status, answer = server.next_token()
        self.answer(status, answer)

    def api(self, body: bytes):
        server: FakeServer = self.server
        header = self.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        with server.lock:
            server.api_requests.append(
                {"token": token, "body": body, "port": self.client_address[1]}
            )
        if token is None or server.reject_all or token in server.rejected:
            challenge = 'Bearer realm="api", error="invalid_token"'
            return self.answer(401, {"error": "invalid_token"}, WWW_Authenticate=challenge)
        self.answer(200, {"token": token, "body": body.decode()})


@pytest.fixture
def fake():
    server = FakeServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def m2m(fake: FakeServer, **kwargs) -> ClientCredentials:
    kwargs.setdefault("token_endpoint", f"{fake.url}/token")
    return ClientCredentials("svc:orders", SECRET, **kwargs)


# --- Caching and expiry ----------------------------------------------------------------------


def test_token_is_cached_and_the_request_is_standard(fake):
    client = m2m(fake, scope=["read", "write"], resource=["https://a.example", "https://b.example"])

    assert client.get_token() == "tok-1"
    assert client.get_token() == "tok-1"

    assert len(fake.token_requests) == 1
    sent = fake.token_requests[0]
    assert sent["form"] == {
        "grant_type": "client_credentials",
        "scope": "read write",
        "resource": ["https://a.example", "https://b.example"],  # RFC 8707 §2: repeated
    }
    # RFC 6749 §2.3.1: id and secret form-urlencoded, then Basic.
    scheme, encoded = sent["headers"]["Authorization"].split(" ")
    raw_id, raw_secret = base64.b64decode(encoded).decode().split(":")
    assert scheme == "Basic"
    assert (unquote(raw_id), unquote(raw_secret)) == ("svc:orders", SECRET)


def test_client_secret_post_and_audience(fake):
    client = m2m(fake, auth_method="client_secret_post", audience="https://api.example")

    client.get_token()

    sent = fake.token_requests[0]
    assert "Authorization" not in sent["headers"]
    assert sent["form"] == {
        "grant_type": "client_credentials",
        "audience": "https://api.example",
        "client_id": "svc:orders",
        "client_secret": SECRET,
    }


def test_token_is_renewed_expiry_margin_before_it_expires(fake, clock):
    client = m2m(fake, clock=clock, expiry_margin=30)  # expires_in 3600
    client.get_token()

    clock.now += 3600 - 30 - 0.5
    assert client.get_token() == "tok-1"
    clock.now += 0.5
    assert client.get_token() == "tok-2"
    assert len(fake.token_requests) == 2


def test_short_token_is_kept_half_its_life(fake, clock):
    fake.expires_in = 40  # shorter than twice the margin
    client = m2m(fake, clock=clock, expiry_margin=30)
    client.get_token()

    clock.now += 19.9
    assert client.get_token() == "tok-1"
    clock.now += 0.1
    assert client.get_token() == "tok-2"


@pytest.mark.parametrize("expires_in", [None, "soon", -5, True])
def test_token_without_usable_expires_in_lives_default_expires_in(fake, clock, expires_in):
    fake.expires_in = expires_in
    client = m2m(fake, clock=clock, expiry_margin=30, default_expires_in=300)
    client.get_token()

    clock.now += 269.9
    assert client.get_token() == "tok-1"
    clock.now += 0.1
    assert client.get_token() == "tok-2"


def test_numeric_string_expires_in_is_honoured(fake, clock):
    fake.expires_in = "120"
    client = m2m(fake, clock=clock, expiry_margin=30)
    client.get_token()

    clock.now += 89.9
    assert client.get_token() == "tok-1"
    clock.now += 0.1
    assert client.get_token() == "tok-2"


def test_invalidate_drops_only_the_named_token(fake):
    client = m2m(fake)
    client.get_token()

    client.invalidate("an older token")
    assert client.get_token() == "tok-1"
    client.invalidate("tok-1")
    assert client.get_token() == "tok-2"
    client.invalidate()
    assert client.get_token() == "tok-3"


def test_concurrent_callers_cause_one_token_request(fake):
    client = m2m(fake)
    fake.release.clear()  # the token endpoint holds its answer until released
    start = threading.Barrier(10)
    results: list[str] = []

    def call():
        start.wait()
        results.append(client.get_token())

    threads = [threading.Thread(target=call) for _ in range(10)]
    for thread in threads:
        thread.start()
    assert fake.token_received.wait(10)
    fake.release.set()
    for thread in threads:
        thread.join(10)

    assert results == ["tok-1"] * 10
    assert len(fake.token_requests) == 1


# --- The requests auth adapter ---------------------------------------------------------------


def test_auth_sends_bearer_through_a_pooled_session(fake):
    client = m2m(fake)

    first = client.request("GET", f"{fake.url}/api")
    second = requests.get(f"{fake.url}/api", auth=client.auth, timeout=5)
    third = client.request("GET", f"{fake.url}/api")

    assert [r.json()["token"] for r in (first, second, third)] == ["tok-1"] * 3
    assert len(fake.token_requests) == 1
    # The client's session keeps its connection: same client port for its calls.
    ports = [call["port"] for call in fake.api_requests]
    assert ports[0] == ports[2] != ports[1]


def test_401_gets_a_fresh_token_and_one_retry_with_the_same_body(fake):
    client = m2m(fake)
    fake.rejected = {"tok-1"}  # e.g. revoked at the provider

    response = client.request("POST", f"{fake.url}/api", json={"order": 7})

    assert response.status_code == 200
    assert response.json() == {"token": "tok-2", "body": '{"order": 7}'}
    assert [r.status_code for r in response.history] == [401]
    assert [call["token"] for call in fake.api_requests] == ["tok-1", "tok-2"]
    assert [call["body"] for call in fake.api_requests] == [b'{"order": 7}'] * 2
    assert client.get_token() == "tok-2"  # the fresh token is kept


def test_a_second_401_is_returned_to_the_caller(fake):
    client = m2m(fake)
    fake.reject_all = True

    response = client.request("GET", f"{fake.url}/api")

    assert response.status_code == 401
    assert [call["token"] for call in fake.api_requests] == ["tok-1", "tok-2"]
    assert len(fake.token_requests) == 2


def test_streamed_body_is_not_sent_twice(fake):
    client = m2m(fake)
    fake.rejected = {"tok-1"}

    response = client.request("POST", f"{fake.url}/api", data=iter([b"a", b"b"]))

    assert response.status_code == 401
    assert len(fake.api_requests) == 1
    assert client.get_token() == "tok-2"  # the rejected token was dropped all the same


def test_no_token_is_added_after_a_redirect_to_another_host(fake):
    """requests drops Authorization on a redirect to another host (127.0.0.1 -> localhost);
    the 401 there must not make the adapter send a token after all."""
    client = m2m(fake)

    response = client.request("GET", f"{fake.url}/redirect")

    assert response.status_code == 401
    assert [call["token"] for call in fake.api_requests] == [None]
    assert len(fake.token_requests) == 1


def test_bearer_auth_on_the_clients_own_session_does_not_recurse(fake):
    client = m2m(fake)
    client.session.auth = client.auth

    response = client.session.get(f"{fake.url}/api", timeout=5)

    assert response.json()["token"] == "tok-1"
    assert fake.token_requests[0]["headers"]["Authorization"].startswith("Basic ")


# --- Errors ----------------------------------------------------------------------------------


def test_provider_error_is_carried(fake):
    fake.token_answer = (
        400,
        {"error": "invalid_scope", "error_description": "No such scope.", "error_uri": "x:y"},
    )
    client = m2m(fake, scope="admin")

    with pytest.raises(TokenRequestError) as caught:
        client.get_token()

    error = caught.value
    assert (error.status, error.error) == (400, "invalid_scope")
    assert (error.error_description, error.error_uri) == ("No such scope.", "x:y")
    assert "invalid_scope" in str(error) and "No such scope." in str(error)
    assert SECRET not in str(error) and SECRET not in repr(client)


@pytest.mark.parametrize(
    "status, body, expected",
    [
        (502, b"<html>Bad gateway</html>", "HTTP 502 without an OAuth error"),
        (200, b"not json", "no access_token"),
        (200, {"token_type": "Bearer"}, "no access_token"),
        (200, {"access_token": "t", "token_type": "DPoP"}, "Unsupported token_type"),
    ],
)
def test_unusable_token_answers(fake, status, body, expected):
    fake.token_answer = (status, body)

    with pytest.raises(TokenRequestError, match=expected) as caught:
        m2m(fake).get_token()

    assert caught.value.status == status
    assert caught.value.error is None


def test_token_endpoint_redirect_is_not_followed(fake):
    client = m2m(fake, token_endpoint=f"{fake.url}/moved")

    with pytest.raises(TokenRequestError) as caught:
        client.get_token()

    assert caught.value.status == 307
    assert fake.token_requests == []  # the credentials never went to the new location


def test_unreachable_provider(fake):
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ClientCredentials("svc", SECRET, token_endpoint=f"http://127.0.0.1:{port}/token")

    with pytest.raises(ProviderUnreachable, match=f"POST http://127.0.0.1:{port}/token") as caught:
        client.get_token()

    assert isinstance(caught.value.__cause__, requests.ConnectionError)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"token_endpoint": "http://id.example.com/token"},  # RFC 6749 §3.2: TLS
        {"issuer": "http://id.example.com"},
        {"issuer": "https://id.example.com?tenant=1"},  # RFC 8414 §2
        {"token_endpoint": "/token"},
        {"token_endpoint": "https://id.example.com/token", "issuer": "https://id.example.com"},
        {},
        {"token_endpoint": "https://id.example.com/token", "auth_method": "none"},
    ],
)
def test_bad_configuration_is_refused(kwargs):
    with pytest.raises(ValueError):
        ClientCredentials("svc", SECRET, **kwargs)


def test_plain_http_allowed_on_request():
    client = ClientCredentials(
        "svc", SECRET, token_endpoint="http://idp:8080/token", allow_insecure_http=True
    )
    assert client.token_endpoint == "http://idp:8080/token"


def test_module_needs_no_django_settings(fake):
    """Usable by any Python process: no settings, no INSTALLED_APPS."""
    script = (
        "from oauthkit.login.client import ClientCredentials; "
        f"print(ClientCredentials('svc', 'x', token_endpoint='{fake.url}/token').get_token())"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}

    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "tok-1"


# --- Discovery -------------------------------------------------------------------------------


def test_discovery_falls_back_to_openid_configuration(fake):
    issuer = f"{fake.url}/tenant"
    fake.metadata["/tenant/.well-known/openid-configuration"] = {
        "issuer": issuer,
        "token_endpoint": f"{fake.url}/token",
    }
    client = ClientCredentials("svc", SECRET, issuer=issuer)

    assert client.get_token() == "tok-1"
    assert client.token_endpoint == f"{fake.url}/token"


def test_discovery_uses_rfc_8414_location_first(fake):
    issuer = f"{fake.url}/tenant"
    # RFC 8414 §3.1: the well-known segment before the issuer's path.
    fake.metadata["/.well-known/oauth-authorization-server/tenant"] = {
        "issuer": issuer,
        "token_endpoint": f"{fake.url}/token",
    }
    fake.metadata["/tenant/.well-known/openid-configuration"] = {"issuer": "unused"}

    assert ClientCredentials("svc", SECRET, issuer=issuer).token_endpoint == f"{fake.url}/token"


def test_discovery_refuses_another_issuer(fake):
    fake.metadata["/.well-known/oauth-authorization-server"] = {
        "issuer": "https://evil.example",
        "token_endpoint": f"{fake.url}/token",
    }
    client = ClientCredentials("svc", SECRET, issuer=fake.url)

    with pytest.raises(DiscoveryError, match=r"RFC 8414 §3\.3"):
        client.get_token()
    assert fake.token_requests == []


@pytest.mark.parametrize(
    "metadata, expected",
    [
        (None, "No metadata for the issuer"),
        ({"issuer": "{url}"}, "no token_endpoint"),
        ({"issuer": "{url}", "token_endpoint": "http://id.example.com/t"}, "must use https"),
    ],
)
def test_discovery_failures(fake, metadata, expected):
    if metadata is not None:
        metadata = {k: v.format(url=fake.url) for k, v in metadata.items()}
        fake.metadata["/.well-known/oauth-authorization-server"] = metadata

    with pytest.raises(DiscoveryError, match=expected):
        ClientCredentials("svc", SECRET, issuer=fake.url).get_token()


# --- Against oauthkit's provider on the live server ------------------------------------------

live = pytest.mark.django_db(transaction=True)
API = "/api/echo"


@pytest.fixture
def provider(django_db_setup, live_server, settings):
    """The live server as the issuer, also serving a protected API (tests.resource.api) that
    accepts tokens whose audience is ``<issuer>/api`` (RFC 8707 resource)."""
    settings.ROOT_URLCONF = "tests.resource.api"
    configure(settings, {"AUDIENCE": f"{live_server.url}/api"}, ISSUER=live_server.url)
    return live_server.url


@live
def test_discovery_token_scope_and_resource_against_oauthkit(provider):
    app = ClientFactory(allowed_resources=[f"{provider}/api"])
    client = ClientCredentials(
        app.client_id, app.raw_secret, issuer=provider, scope="read", resource=f"{provider}/api"
    )

    response = client.request("GET", provider + API)

    assert client.token_endpoint == f"{provider}/o/token/"
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["client_id"] == app.client_id
    assert seen["scopes"] == ["read"]
    assert seen["audience"] == [f"{provider}/api"]  # RFC 8707: the resource is the aud


@live
def test_client_secret_post_against_oauthkit(provider):
    app = ClientFactory(token_endpoint_auth_method="client_secret_post")
    client = ClientCredentials(
        app.client_id,
        app.raw_secret,
        token_endpoint=f"{provider}/o/token/",
        auth_method="client_secret_post",
        scope=["read", "write"],
    )
    token = client.get_token()

    answer = requests.post(
        f"{provider}/o/introspect/",
        {"token": token, "client_id": app.client_id, "client_secret": app.raw_secret},
        timeout=10,
    ).json()

    assert answer["active"] is True
    assert answer["scope"] == "read write"


@live
def test_revoked_token_is_replaced_after_the_apis_401(provider):
    app = ClientFactory(allowed_resources=[f"{provider}/api"])
    client = ClientCredentials(
        app.client_id, app.raw_secret, issuer=provider, resource=f"{provider}/api"
    )
    first = client.get_token()
    revoked = requests.post(
        f"{provider}/o/revoke/", {"token": first}, auth=(app.client_id, app.raw_secret), timeout=10
    )
    assert revoked.status_code == 200

    response = client.request("GET", provider + API)

    assert response.status_code == 200, response.text
    assert [r.status_code for r in response.history] == [401]
    assert 'error="invalid_token"' in response.history[0].headers["WWW-Authenticate"]
    assert client.get_token() != first


@live
def test_wrong_secret_gives_invalid_client(provider):
    app = ClientFactory()
    client = ClientCredentials(app.client_id, "wrong secret", issuer=provider)

    with pytest.raises(TokenRequestError) as caught:
        client.get_token()

    assert (caught.value.status, caught.value.error) == (401, "invalid_client")
    assert "wrong secret" not in str(caught.value)


@live
def test_resource_the_client_may_not_use_gives_invalid_target(provider):
    app = ClientFactory()
    client = ClientCredentials(
        app.client_id, app.raw_secret, issuer=provider, resource="https://other.example/api"
    )

    with pytest.raises(TokenRequestError) as caught:
        client.get_token()

    assert (caught.value.status, caught.value.error) == (400, "invalid_target")
    assert caught.value.error_description
