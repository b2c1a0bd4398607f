"""The load driver: virtual users as threads, each with one keep-alive HTTP connection.

Only the standard library, so it can run next to any server. A scenario ends by itself:
after ``requests`` operations in all, or ``duration`` seconds, whichever comes first.
Each virtual user first sends a few warm-up operations (not counted), then all start
together. An *operation* is what a client does for one result: one request for
client_credentials, refresh, the ceiling and the API's pings; two (authorize, then token)
for the authorization code round trip.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from hashlib import sha256
from urllib.parse import parse_qs, quote, urlencode, urlsplit

HOST = "127.0.0.1"
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
#: Socket timeout: a stuck server fails the operation instead of hanging the run.
TIMEOUT = 15.0
#: A virtual user gives up after this many failures in a row.
MAX_CONSECUTIVE_ERRORS = 3

#: One operation: sends its requests on the connection, raises on a wrong answer.
Operation = Callable[[http.client.HTTPConnection], None]


class BadResponse(Exception):
    """The server answered, but not with the expected success."""


@dataclass
class Result:
    """What one scenario measured; latencies are of successful operations, in seconds."""

    name: str
    requests_per_operation: int
    concurrency: int
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None

    @property
    def operations(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        """Successful operations per second."""
        return self.operations / self.elapsed if self.elapsed else 0.0

    def percentile_ms(self, p: float) -> float:
        """The ``p``-th percentile latency (nearest rank), in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
        return 1000 * ordered[rank - 1]

    def merged(self, other: Result) -> Result:
        """This result and a later round of the same scenario, as one."""
        return Result(
            self.name,
            self.requests_per_operation,
            self.concurrency,
            elapsed=self.elapsed + other.elapsed,
            latencies=self.latencies + other.latencies,
            errors=self.errors + other.errors,
            first_error=self.first_error or other.first_error,
        )

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "requests_per_operation": self.requests_per_operation,
            "concurrency": self.concurrency,
            "operations": self.operations,
            "elapsed_s": self.elapsed,
            "per_second": self.per_second,
            "http_requests_per_second": self.per_second * self.requests_per_operation,
            "p50_ms": self.percentile_ms(50),
            "p99_ms": self.percentile_ms(99),
            "errors": self.errors,
            "first_error": self.first_error,
        }


def send(conn, method: str, path: str, body: str | None = None, headers=None):
    """One request on a keep-alive connection; returns (status, response, body bytes).

    http.client reopens the connection by itself when the server closed it
    (gunicorn's sync workers close after every response).
    """
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, response, response.read()


def expect_token(status: int, body: bytes) -> dict:
    if status != 200:
        raise BadResponse(f"HTTP {status}: {body[:200]!r}")
    data = json.loads(body)
    if "access_token" not in data:
        raise BadResponse(f"no access_token: {body[:200]!r}")
    return data


def basic(client_id: str, secret: str) -> str:
    # RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


def client_credentials(seed: dict) -> Callable[[int], Operation]:
    """POST /o/token/ grant_type=client_credentials with HTTP Basic."""
    headers = {**FORM_HEADERS, "Authorization": basic(**seed["service"])}
    body = urlencode({"grant_type": "client_credentials", "scope": seed["scope"]})

    def make(user: int) -> Operation:
        def operation(conn) -> None:
            status, _, data = send(conn, "POST", "/o/token/", body, headers)
            expect_token(status, data)

        return operation

    return make


def authorization_code(seed: dict) -> Callable[[int], Operation]:
    """GET /o/authorize/ with the user's session (consent remembered) → 302 with a code
    → POST /o/token/ with the code and its PKCE verifier (RFC 7636 §4)."""
    web = seed["web"]
    token_headers = {**FORM_HEADERS, "Authorization": basic(web["client_id"], web["secret"])}

    def make(user: int) -> Operation:
        cookie = {"Cookie": f"{seed['session_cookie']}={seed['users'][user]['session']}"}

        def operation(conn) -> None:
            verifier = secrets.token_urlsafe(48)
            challenge = base64.urlsafe_b64encode(sha256(verifier.encode()).digest())
            query = urlencode(
                {
                    "response_type": "code",
                    "client_id": web["client_id"],
                    "redirect_uri": web["redirect_uri"],
                    "scope": seed["scope"],
                    "state": "bench",
                    "code_challenge": challenge.rstrip(b"=").decode(),
                    "code_challenge_method": "S256",
                }
            )
            status, response, data = send(conn, "GET", f"/o/authorize/?{query}", None, cookie)
            location = response.getheader("Location", "")
            code = parse_qs(urlsplit(location).query).get("code")
            if status != 302 or not code:
                raise BadResponse(f"authorize: HTTP {status} {location[:200]} {data[:200]!r}")
            form = {
                "grant_type": "authorization_code",
                "code": code[0],
                "redirect_uri": web["redirect_uri"],
                "code_verifier": verifier,
            }
            status, _, data = send(conn, "POST", "/o/token/", urlencode(form), token_headers)
            expect_token(status, data)

        return operation

    return make


def refresh(seed: dict) -> Callable[[int], Operation]:
    """POST /o/token/ grant_type=refresh_token; each virtual user carries its own chain,
    from one round of the scenario to the next."""
    web = seed["web"]
    headers = {**FORM_HEADERS, "Authorization": basic(web["client_id"], web["secret"])}
    chains: dict[int, dict[str, str]] = {}

    def make(user: int) -> Operation:
        chain = chains.setdefault(user, {"token": seed["users"][user]["refresh_token"]})

        def operation(conn) -> None:
            body = urlencode({"grant_type": "refresh_token", "refresh_token": chain["token"]})
            status, _, data = send(conn, "POST", "/o/token/", body, headers)
            # Rotation (RFC 9700 §4.14.2): the next refresh must use the new token.
            chain["token"] = expect_token(status, data)["refresh_token"]

        return operation

    return make


def ceiling(seed: dict) -> Callable[[int], Operation]:
    """POST /bench/ceiling/: the example project's one-INSERT view."""

    def make(user: int) -> Operation:
        def operation(conn) -> None:
            status, _, data = send(conn, "POST", "/bench/ceiling/", "", FORM_HEADERS)
            if status != 200:
                raise BadResponse(f"HTTP {status}: {data[:200]!r}")

        return operation

    return make


def access_token(seed: dict, port: int) -> str:
    """One access token for ``seed["scope"]`` from the service client (client_credentials)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
    try:
        headers = {**FORM_HEADERS, "Authorization": basic(**seed["service"])}
        body = urlencode({"grant_type": "client_credentials", "scope": seed["scope"]})
        status, _, data = send(conn, "POST", "/o/token/", body, headers)
        return expect_token(status, data)["access_token"]
    finally:
        conn.close()


def api_get(path: str, token: str | None = None) -> Callable[[int], Operation]:
    """GET ``path`` of the example API (with ``Authorization: Bearer token`` when given),
    expecting 200 and its pong."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    def make(user: int) -> Operation:
        def operation(conn) -> None:
            status, _, data = send(conn, "GET", path, None, headers)
            if status != 200 or b"pong" not in data:
                raise BadResponse(f"HTTP {status}: {data[:200]!r}")

        return operation

    return make


def run_scenario(
    name: str,
    make: Callable[[int], Operation],
    *,
    port: int,
    concurrency: int,
    requests: int,
    duration: float,
    warmup: int = 3,
    requests_per_operation: int = 1,
) -> Result:
    """Run ``concurrency`` virtual users until ``requests`` operations or ``duration`` s."""
    result = Result(name, requests_per_operation, concurrency)
    tickets = itertools.count()  # next() is atomic under the GIL: a shared budget
    start_line = threading.Barrier(concurrency + 1, timeout=duration + 120)
    clock = {"deadline": 0.0}
    lock = threading.Lock()
    per_user: list[list[float]] = [[] for _ in range(concurrency)]

    def fail(error: Exception) -> None:
        with lock:
            result.errors += 1
            result.first_error = result.first_error or f"{type(error).__name__}: {error}"

    def virtual_user(index: int) -> None:
        operation = make(index)
        conn = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
        try:
            for _ in range(warmup):
                operation(conn)
        except Exception as error:
            fail(error)
            start_line.abort()
            return
        try:
            start_line.wait()
        except threading.BrokenBarrierError:
            return
        errors_in_a_row = 0
        latencies = per_user[index]
        while time.perf_counter() < clock["deadline"] and next(tickets) < requests:
            began = time.perf_counter()
            try:
                operation(conn)
            except Exception as error:
                fail(error)
                conn.close()
                errors_in_a_row += 1
                if errors_in_a_row >= MAX_CONSECUTIVE_ERRORS:
                    return
                continue
            latencies.append(time.perf_counter() - began)
            errors_in_a_row = 0
        conn.close()

    threads = [
        threading.Thread(target=virtual_user, args=(i,), name=f"{name}-{i}", daemon=True)
        for i in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    try:
        clock["deadline"] = time.perf_counter() + 1e9  # set for real just below
        start_line.wait()
        began = time.perf_counter()
        clock["deadline"] = began + duration
    except threading.BrokenBarrierError:
        began = time.perf_counter()
    for thread in threads:
        thread.join(duration + 2 * TIMEOUT)
    result.elapsed = time.perf_counter() - began
    result.latencies = [x for latencies in per_user for x in latencies]
    return result
