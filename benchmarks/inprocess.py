"""In-process cost per request: SQL queries and CPU time, through Django's test client.

Each scenario runs twice: first under ``CaptureQueriesContext`` to count the statements
of each request, then without it, adding up ``time.process_time`` around each request
only (preparation, such as fetching a code to exchange, is outside the timed part).
Transaction control (BEGIN, COMMIT, SAVEPOINT, RELEASE, ROLLBACK) is not counted: it is
BEGIN/COMMIT in production and SAVEPOINT/RELEASE inside a test's transaction.

CPU time is this process's: Django, oauthkit, the database driver and the test client's
own small overhead. With SQLite the database engine runs in this process and is counted;
with PostgreSQL the server's work is not.

It runs under any settings that mount oauthkit's URLs (namespace ``oauthkit``) over a
migrated database: ``run.py`` uses the example project's settings, and
tests/test_benchmark_smoke.py the test settings. It writes its own client, user and
consent, so it can share a database with other data.

Where the example project's API is mounted (``api:ping``), it also measures ``GET /api/ping``
with a JWT access token, under each revocation check (the settings are overridden around
the scenario's requests, with an unmeasured request first), and ``GET /api/ping/open``.
The cache check reads the cache the settings name as ``REVOCATION_CACHE`` (the example
project's "shared": Redis when ``REDIS_URL`` is set).

Command line (prints JSON)::

    DJANGO_SETTINGS_MODULE=example_project.settings python -m benchmarks.inprocess --requests 300
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from benchmarks.report import API_PING_OPEN, api_ping_name

#: Statements that only open or close a transaction; never counted as queries.
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")
FORM = "application/x-www-form-urlencoded"
REDIRECT_URI = "http://127.0.0.1/bench/callback"
#: Requests whose statements are counted; the counts are the same every time.
QUERY_SAMPLES = 50
#: Unmeasured requests per scenario first (caches, key ring, lazy imports).
WARMUP = 10
#: Interleaved rounds of the timed requests (see ``measure``).
ROUNDS = 5
#: "~1 ms" of CPU passes up to 20% above the figure.
CPU_TOLERANCE = 1.2

API_PING_CACHE = api_ping_name("cache")
API_PING_DATABASE = api_ping_name("database")


@dataclass(frozen=True)
class Target:
    """The issue's budget for one request: data statements, and CPU where one is set."""

    queries: int
    cpu_ms: float | None = None
    #: The count must be exactly ``queries`` (a check that must run), not at most.
    exact: bool = False

    def describe(self) -> str:
        noun = "query" if self.queries == 1 else "queries"
        text = f"{'=' if self.exact else '<='}{self.queries} {noun}"
        if self.cpu_ms is not None:
            text += f", ~{self.cpu_ms:g} ms CPU"
        return text


TARGETS = {
    "client_credentials": Target(queries=3, cpu_ms=1.0),
    # Including the session and user lookups of the logged-in browser.
    "authorize (remembered consent)": Target(queries=4),
    "code exchange": Target(queries=6),
    "code exchange (openid)": Target(queries=7),
    "refresh": Target(queries=6),
    # Issue 4: a JWT checked against the shared revocation list needs no SQL; the default
    # database check is one indexed query by jti.
    API_PING_CACHE: Target(queries=0, exact=True),
    API_PING_DATABASE: Target(queries=1, exact=True),
}


@dataclass
class Scenario:
    """``prepare`` (not measured) makes the argument of ``request`` (measured);
    ``check`` (not measured) raises when the answer is not the expected success."""

    name: str
    prepare: Callable[[], Any]
    request: Callable[[Any], Any]
    check: Callable[[Any], None]
    #: Django settings overridden while the scenario runs (``override_settings`` kwargs).
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> Target | None:
        return TARGETS.get(self.name)

    @contextmanager
    def applied(self) -> Iterator[None]:
        """The scenario's settings in force, and warm. Changing settings (entering or
        leaving a scenario's override) drops oauthkit's process caches (keys, clients), so
        one unmeasured request refills them before the measured ones."""
        from django.test import override_settings

        with override_settings(**self.settings):
            self.check(self.request(self.prepare()))
            yield


class Bench:
    """A client, a logged-in user with remembered consent, and the requests they send."""

    def __init__(self) -> None:
        from django.contrib.auth import get_user_model
        from django.test import Client as TestClient
        from django.urls import reverse
        from django.utils import timezone

        from oauthkit.provider.keys import key_ring
        from oauthkit.provider.models import Client, Consent

        tag = secrets.token_hex(4)
        user_model = get_user_model()
        # No password: an unusable one, and no password hashing in the setup.
        self.user = user_model._default_manager.create_user(
            **{user_model.USERNAME_FIELD: f"bench-{tag}"}
        )
        self.client = Client(
            client_id=f"bench-{tag}",
            name="Benchmark client",
            client_type=Client.ClientType.CONFIDENTIAL,
            token_endpoint_auth_method=Client.AuthMethod.CLIENT_SECRET_BASIC,
            redirect_uris=[REDIRECT_URI],
            grant_types=["authorization_code", "refresh_token", "client_credentials"],
            # ID tokens with the run's key (--alg), not an RS256 key the run may not have.
            id_token_signed_response_alg=key_ring.signing_key()["alg"],
        )
        secret = self.client.set_new_secret()
        self.client.save()
        Consent.objects.create(
            user=self.user,
            client=self.client,
            scope="openid read",
            expires_at=timezone.now() + timedelta(days=1),
        )
        credentials = f"{quote(self.client.client_id, safe='')}:{quote(secret, safe='')}"
        self.basic = "Basic " + base64.b64encode(credentials.encode()).decode()
        # SERVER_NAME: the example project allows only 127.0.0.1, not "testserver".
        self.browser = TestClient(SERVER_NAME="127.0.0.1")
        self.browser.force_login(self.user)
        self.backend = TestClient(SERVER_NAME="127.0.0.1")  # a client's server: no cookies
        self.token_url = reverse("oauthkit:token")
        self.authorize_url = reverse("oauthkit:authorization")
        self.refresh_token = ""

    def token(self, data: dict[str, str]):
        """POST to the token endpoint, form-encoded, with HTTP Basic client authentication."""
        return self.backend.post(
            self.token_url, urlencode(data), content_type=FORM, HTTP_AUTHORIZATION=self.basic
        )

    def authorize_params(self, scope: str = "read") -> tuple[dict[str, str], str]:
        """A fresh authorization request with an S256 challenge, and its verifier."""
        from oauthkit.provider.pkce import s256

        verifier = secrets.token_urlsafe(48)
        params = {
            "response_type": "code",
            "client_id": self.client.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": "bench",
            **({"nonce": "bench-nonce"} if "openid" in scope else {}),
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
        }
        return params, verifier

    def authorize(self, params: dict[str, str]):
        return self.browser.get(self.authorize_url, params)

    def exchange_data(self, scope: str = "read") -> dict[str, str]:
        """Run an authorization (not measured); the form that redeems its code."""
        params, verifier = self.authorize_params(scope)
        return {
            "grant_type": "authorization_code",
            "code": code_of(self.authorize(params)),
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        }

    def keep_refresh_token(self, response) -> None:
        # Rotation makes each refresh token single use: carry the chain on.
        self.refresh_token = token_body(response)["refresh_token"]

    def refresh_data(self) -> dict[str, str]:
        if not self.refresh_token:
            self.keep_refresh_token(self.token(self.exchange_data()))
        return {"grant_type": "refresh_token", "refresh_token": self.refresh_token}

    def scenarios(self) -> list[Scenario]:
        cc = {"grant_type": "client_credentials", "scope": "read"}
        found = [
            Scenario("client_credentials", lambda: cc, self.token, token_body),
            Scenario(
                "authorize (remembered consent)",
                lambda: self.authorize_params()[0],
                self.authorize,
                code_of,
            ),
            Scenario("code exchange", self.exchange_data, self.token, token_body),
            # OpenID Connect: the same exchange with an ID token (issue 3: at most twice the
            # plain exchange's cost).
            Scenario(
                "code exchange (openid)",
                lambda: self.exchange_data("openid read"),
                self.token,
                token_body,
            ),
            Scenario("refresh", self.refresh_data, self.token, self.keep_refresh_token),
        ]
        found += self.api_scenarios()
        ceiling = ceiling_url()
        if ceiling:
            # A reference without a target: Django, the middleware and one INSERT.
            found.append(
                Scenario(
                    "ceiling (one INSERT)",
                    lambda: None,
                    lambda _: self.backend.post(ceiling, "", content_type=FORM),
                    expect_ok,
                )
            )
        return found

    def api_scenarios(self) -> list[Scenario]:
        """``GET /api/ping`` with a JWT under each revocation check, and ``/api/ping/open``;
        none where the example project's API is not mounted."""
        from django.urls import NoReverseMatch, reverse

        try:
            ping, open_ping = reverse("api:ping"), reverse("api:ping-open")
        except NoReverseMatch:
            return []
        cc = {"grant_type": "client_credentials", "scope": "read"}
        bearer = f"Bearer {token_body(self.token(cc))['access_token']}"

        def get_ping(_):
            return self.backend.get(ping, HTTP_AUTHORIZATION=bearer)

        return [
            Scenario(API_PING_OPEN, lambda: None, lambda _: self.backend.get(open_ping), pong),
            Scenario(API_PING_CACHE, lambda: None, get_ping, pong, revocation_check("cache")),
            Scenario(API_PING_DATABASE, lambda: None, get_ping, pong, revocation_check("database")),
        ]


def revocation_cache_alias() -> str:
    """The cache the cache check reads: the provider's REVOCATION_CACHE, else "default"."""
    from oauthkit.conf import oauthkit_settings

    return oauthkit_settings.REVOCATION_CACHE or "default"


def revocation_check(check: str) -> dict[str, Any]:
    """``override_settings`` kwargs for an API checking revocation by ``check``."""
    from django.conf import settings

    current = dict(getattr(settings, "OAUTHKIT", {}) or {})
    resource = {**current.get("RESOURCE_SERVER", {}), "REVOCATION_CHECK": check}
    if check == "cache":
        alias = revocation_cache_alias()
        current["REVOCATION_CACHE"] = alias
        resource["CACHE"] = alias
    return {"OAUTHKIT": {**current, "RESOURCE_SERVER": resource}}


def describe_cache(alias: str) -> str:
    """``alias (Backend at location)``, for the report."""
    from django.conf import settings

    conf = settings.CACHES.get(alias, {})
    backend = conf.get("BACKEND", "?").rsplit(".", 1)[-1]
    location = conf.get("LOCATION")
    if isinstance(location, str) and "@" in location:  # no password in the report
        location = location.split("://", 1)[0] + "://…@" + location.rsplit("@", 1)[-1]
    return f"{alias!r} ({backend}{f' at {location}' if location else ''})"


def ceiling_url() -> str | None:
    """The example project's ceiling view, when it is installed and mounted."""
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("bench-ceiling")
    except NoReverseMatch:
        return None


def expect_ok(response) -> None:
    if response.status_code != 200:
        raise AssertionError(f"HTTP {response.status_code}: {response.content[:300]!r}")


def pong(response) -> None:
    expect_ok(response)
    if json.loads(response.content) != {"pong": True}:
        raise AssertionError(f"Not a pong: {response.content[:300]!r}")


def token_body(response) -> dict:
    """The token response, or an error saying what came back instead."""
    expect_ok(response)
    body = json.loads(response.content)
    if "access_token" not in body:
        raise AssertionError(f"No access_token in {body!r}")
    return body


def code_of(response) -> str:
    """The code in the authorization response's redirect (RFC 6749 §4.1.2)."""
    if response.status_code != 302:
        raise AssertionError(f"HTTP {response.status_code}: {response.content[:300]!r}")
    query = parse_qs(urlsplit(response["Location"]).query)
    if "code" not in query:
        raise AssertionError(f"No code in {response['Location']}")
    return query["code"][0]


def data_statements(captured) -> list[str]:
    return [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL)
    ]


def count_queries(scenario: Scenario, samples: int) -> tuple[list[int], list[str]]:
    """Data statements per request over ``samples`` requests, and one request's SQL."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts: list[int] = []
    statements: list[str] = []
    with scenario.applied():
        for _ in range(samples):
            argument = scenario.prepare()
            with CaptureQueriesContext(connection) as captured:
                response = scenario.request(argument)
            scenario.check(response)
            data = data_statements(captured)
            counts.append(len(data))
            statements = statements or data
    return counts, statements


def cpu_seconds(scenario: Scenario, requests: int) -> list[float]:
    """CPU seconds of each of ``requests`` requests, preparation left out."""
    spent: list[float] = []
    with scenario.applied():
        for _ in range(requests):
            argument = scenario.prepare()
            start = time.process_time()
            response = scenario.request(argument)
            spent.append(time.process_time() - start)
            scenario.check(response)
    return spent


def make_row(scenario: Scenario, counts: list[int], statements: list[str], cpu: list[float]):
    """One line of the report: the figures, the target and which parts missed it."""
    row: dict[str, Any] = {
        "name": scenario.name,
        "requests": len(cpu),
        "queries": max(counts),
        "queries_min": min(counts),
        "cpu_ms": 1000 * statistics.fmean(cpu),
        # Less sensitive than the mean to a garbage collection or a neighbour's burst.
        "cpu_ms_median": 1000 * statistics.median(cpu),
        "statements": [" ".join(sql.split())[:200] for sql in statements],
        "target": None,
        "passed": None,
        "failed": [],
    }
    target = scenario.target
    if target is not None:
        row["target"] = {"queries": target.queries, "cpu_ms": target.cpu_ms, "exact": target.exact}
        row["target_text"] = target.describe()
        wrong = row["queries_min"] != target.queries if target.exact else False
        if row["queries"] > target.queries or wrong:
            row["failed"].append("queries")
        if target.cpu_ms is not None and row["cpu_ms"] > target.cpu_ms * CPU_TOLERANCE:
            row["failed"].append("cpu")
        row["passed"] = not row["failed"]
    return row


def calibrate(signing_key) -> dict[str, float]:
    """What this machine's CPU costs for two fixed pieces of work, in ms, to read the CPU
    figures against: one PBKDF2 password check with Django's default hasher (issue 2 puts it
    at "about 200 ms" on the machine its "~1 ms" was written for), and one JWT signature with
    the run's signing key (the part of a token request no code can avoid). Best of a few
    runs, so that a busy neighbour does not inflate them."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from oauthkit import jose

    def best(work: Callable[[], object], runs: int) -> float:
        spent = []
        for _ in range(runs):
            start = time.process_time()
            work()
            spent.append(time.process_time() - start)
        return 1000 * min(spent)

    hasher = PBKDF2PasswordHasher()
    claims = {"iss": "http://127.0.0.1:8000", "sub": "bench", "scope": "read", "exp": 0}
    return {
        "pbkdf2_ms": best(lambda: hasher.encode("benchmark", "calibration"), 3),
        # A batch of 50 per run: one signature is near the clock's resolution.
        "signature_ms": best(lambda: [jose.sign(claims, signing_key) for _ in range(50)], 5) / 50,
        "pbkdf2_iterations": hasher.iterations,
    }


def measure(requests: int = 300, *, with_calibration: bool = True) -> dict[str, Any]:
    """Run every scenario ``requests`` times; the report ``report.inprocess_table`` prints.
    ``with_calibration`` adds ``calibrate()``'s figures as ``machine``.

    The timed requests run in ``ROUNDS`` interleaved rounds (a share of every scenario
    in each), so that a slow spell of the machine falls on all scenarios alike.
    """
    from django.db import connection

    from oauthkit.provider.keys import key_ring

    if requests < 1:
        raise ValueError("requests must be at least 1")
    # Keys are parsed once per process (KEY_CACHE_TIMEOUT): measure the steady state.
    signing_key = key_ring.signing_key()
    scenarios = Bench().scenarios()
    for scenario in scenarios:
        cpu_seconds(scenario, WARMUP)
    queries = {s.name: count_queries(s, min(requests, QUERY_SAMPLES)) for s in scenarios}
    cpu: dict[str, list[float]] = {s.name: [] for s in scenarios}
    for round_ in range(ROUNDS):
        share = requests // ROUNDS + (1 if round_ < requests % ROUNDS else 0)
        for scenario in scenarios:
            cpu[scenario.name] += cpu_seconds(scenario, share)
    rows = [make_row(s, *queries[s.name], cpu[s.name]) for s in scenarios]
    names = {s.name for s in scenarios}
    return {
        "database": connection.vendor,
        "requests": requests,
        "signing_alg": signing_key["alg"],
        "cpu_tolerance": CPU_TOLERANCE,
        "revocation_cache": (
            describe_cache(revocation_cache_alias()) if API_PING_CACHE in names else None
        ),
        "rows": rows,
        "machine": calibrate(signing_key) if with_calibration else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per scenario")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
    import django

    django.setup()
    json.dump(measure(args.requests), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
