#!/usr/bin/env python
"""Benchmark the provider: cost per request in-process, and throughput over HTTP.

For each database (a fresh SQLite file; PostgreSQL when a server answers), it migrates a
new database, measures SQL queries and CPU per request in-process, then serves the
example project with gunicorn (2 workers) and drives it from this process:
client_credentials, the authorization code + PKCE round trip, refresh, and the ceiling
(a view doing one INSERT). Then, once per revocation check ("cache": the list in Redis;
"database"), a server whose API checks that way: GET /api/ping with a JWT against
GET /api/ping/open. Results go to stdout and to benchmarks/results/ (git-ignored).

    .venv/bin/python benchmarks/run.py              # full run (about 3 minutes on 2 CPUs)
    .venv/bin/python benchmarks/run.py --quick      # does everything work? (about 35 s)
    .venv/bin/python benchmarks/run.py --db sqlite --no-http --statements
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def use_the_virtualenv() -> None:
    """Started by a Python without Django (``python benchmarks/run.py``)? Use .venv's."""
    try:
        import django  # noqa: F401
        import jwcrypto  # noqa: F401
    except ImportError:
        venv_python = ROOT / ".venv" / "bin" / "python"
        if venv_python.exists() and not os.environ.get("OAUTHKIT_BENCH_REEXEC"):
            os.environ["OAUTHKIT_BENCH_REEXEC"] = "1"
            os.execv(venv_python, [str(venv_python), *sys.argv])
        raise SystemExit("Django is not installed: run `make install` first.") from None


use_the_virtualenv()

from benchmarks import load  # noqa: E402
from benchmarks.report import (  # noqa: E402
    API_PING_OPEN,
    API_RATIO_CHECK,
    api_ping_name,
    api_ratio,
    api_ratio_line,
    ceiling_ratio,
    http_table,
    inprocess_table,
    ratio_line,
)
from benchmarks.server import (  # noqa: E402
    DEFAULT_PG_URL,
    DEFAULT_REDIS_URL,
    Gunicorn,
    PostgresDatabase,
    SqliteDatabase,
    django_env,
    free_port,
    postgres_answers,
    redis_answers,
    run_python,
    without_password,
)

RESULTS = ROOT / "benchmarks" / "results"
#: The API's revocation checks, each measured on its own server (a process-wide setting).
API_CHECKS = ("cache", "database")
# (--requests, --duration, --inprocess-requests, --rounds) for a full and a --quick run.
FULL = (10000, 9.0, 300, 3)
QUICK = (200, 2.0, 20, 1)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small counts, to check it works")
    parser.add_argument(
        "--requests", type=int, help=f"HTTP operations per scenario at most ({FULL[0]})"
    )
    parser.add_argument(
        "--duration", type=float, help=f"seconds per HTTP scenario at most ({FULL[1]:g})"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="virtual users (4)")
    parser.add_argument(
        "--inprocess-requests", type=int, help=f"in-process requests per scenario ({FULL[2]})"
    )
    parser.add_argument(
        "--rounds", type=int, help=f"interleaved rounds of the HTTP scenarios ({FULL[3]})"
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("OAUTHKIT_BENCH_PG_URL", DEFAULT_PG_URL),
        help="PostgreSQL database to create and drop (%(default)s)",
    )
    parser.add_argument("--http", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--part",
        choices=["all", "provider", "api"],
        default="all",
        help="HTTP scenarios: the token endpoint's and the ceiling, the API's pings, or all",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("OAUTHKIT_BENCH_REDIS_URL")
        or os.environ.get("REDIS_URL")
        or DEFAULT_REDIS_URL,
        help="Redis for the cache revocation check, read only (%(default)s)",
    )
    parser.add_argument(
        "--alg", choices=["RS256", "ES256", "EdDSA"], default="RS256", help="signing key (RS256)"
    )
    parser.add_argument(
        "--sqlite-wal", action="store_true", help="SQLite in WAL mode (default: as the example)"
    )
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync")
    parser.add_argument(
        "--api-driver",
        choices=["python", "wrk"],
        default="python",
        help="load driver of the API pings: Python threads (default) or wrk (benchmarks/wrk.py)",
    )
    parser.add_argument("--statements", action="store_true", help="print each request's SQL")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    args.requests = args.requests or defaults[0]
    args.duration = args.duration or defaults[1]
    args.inprocess_requests = args.inprocess_requests or defaults[2]
    args.rounds = args.rounds or defaults[3]
    counts = (args.requests, args.concurrency, args.inprocess_requests, args.rounds)
    if min(counts) < 1 or args.duration <= 0:
        parser.error("counts and the duration must be positive")
    return args


def databases(args: argparse.Namespace) -> list:
    wanted = ["sqlite", "postgres"] if args.db == "all" else [args.db]
    found: list = []
    if "sqlite" in wanted:
        found.append(SqliteDatabase(wal=args.sqlite_wal))
    if "postgres" in wanted:
        if postgres_answers(args.pg_url):
            found.append(PostgresDatabase(args.pg_url))
        elif args.db == "postgres":
            raise SystemExit(f"PostgreSQL does not answer at {args.pg_url}")
        else:
            print(f"PostgreSQL: not run (nothing answers at {args.pg_url})\n")
    return found


def interleave(args: argparse.Namespace, scenarios: list, port: int) -> list[dict]:
    """(name, make, requests per operation) scenarios against the running server, in
    interleaved rounds so that a slow spell of the machine does not fall on one scenario
    (and skew a ratio); every other round runs them in reverse order."""
    totals: dict[str, load.Result] = {}
    for round_ in range(args.rounds):
        requests = args.requests // args.rounds + (round_ < args.requests % args.rounds)
        for name, make, per_operation in scenarios[:: -1 if round_ % 2 else 1]:
            result = load.run_scenario(
                name,
                make,
                port=port,
                concurrency=args.concurrency,
                requests=max(1, requests),
                duration=args.duration / args.rounds,
                requests_per_operation=per_operation,
            )
            totals[name] = totals[name].merged(result) if name in totals else result
    return [totals[name].as_dict() for name, _, _ in scenarios]


def interleave_wrk(args: argparse.Namespace, check: str, token: str, port: int) -> list[dict]:
    """The two pings under wrk, in the same interleaved rounds as ``interleave``."""
    from benchmarks import wrk

    scenarios = [
        (API_PING_OPEN, "/api/ping/open", None),
        (api_ping_name(check), "/api/ping", token),
    ]
    totals: dict = {}
    for round_ in range(args.rounds):
        for name, path, bearer in scenarios[:: -1 if round_ % 2 else 1]:
            result = wrk.run_wrk(
                name,
                path,
                port=port,
                concurrency=args.concurrency,
                duration=args.duration / args.rounds,
                token=bearer,
            )
            totals[name] = totals[name].merged(result) if name in totals else result
    return [totals[name].as_dict() for name, _, _ in scenarios]


def drive(args: argparse.Namespace, seed: dict, port: int) -> list[dict]:
    """The provider's four HTTP scenarios against the running server."""
    scenarios = [
        ("ceiling", load.ceiling(seed), 1),
        ("client_credentials", load.client_credentials(seed), 1),
        ("authorization_code + PKCE", load.authorization_code(seed), 2),
        ("refresh", load.refresh(seed), 1),
    ]
    return interleave(args, scenarios, port)


def drive_api(args: argparse.Namespace, database, seed: dict, signing_key: str, check: str):
    """A server whose API checks revocation by ``check``: one client_credentials token
    (scope read), then GET /api/ping with it and GET /api/ping/open, interleaved."""
    port = free_port()
    env = django_env(database.url, port, signing_key, redis_url=args.redis, revocation_check=check)
    with Gunicorn(env, port, workers=2, worker_class=args.worker_class) as server:
        token = load.access_token(seed, port)
        if args.api_driver == "wrk":
            results = interleave_wrk(args, check, token, port)
        else:
            scenarios = [
                (API_PING_OPEN, load.api_get("/api/ping/open"), 1),
                (api_ping_name(check), load.api_get("/api/ping", token), 1),
            ]
            results = interleave(args, scenarios, port)
    where = (
        f"the revocation list in Redis at {without_password(args.redis)}"
        if args.redis
        else "the revocation list in each worker's local memory (Redis did not answer)"
    )
    label = (
        f"HTTP API, {database.label}, {check} revocation check"
        + (f" ({where})" if check == "cache" else " (one query by jti)")
        + f": gunicorn 2 {args.worker_class} workers, {args.concurrency} virtual users, "
        f"at most {args.requests} requests or {args.duration:g} s per scenario in "
        f"{args.rounds} interleaved round(s)"
    )
    if args.api_driver == "wrk":
        label += f" (driver: wrk, {args.duration:g} s per scenario, no request cap)"
    print(http_table(results, label=label))
    print(api_ratio_line(results, check), end="\n\n", flush=True)
    if server.problems.strip():
        print(f"gunicorn said:\n{server.problems}\n")
    return {
        "check": check,
        # Where the cache check read the list: "redis", or "locmem" (per process).
        "cache": ("redis" if args.redis else "locmem") if check == "cache" else None,
        "results": results,
    }


def run_database(database, args: argparse.Namespace, signing_key: str) -> dict:
    """Migrate a fresh database, measure in-process, then over HTTP; print and return."""
    with database:
        port = free_port()
        env = django_env(database.url, port, signing_key, redis_url=args.redis)
        # --skip-checks: oauthkit.E001 rightly refuses an http issuer with DEBUG off, and
        # the benchmark serves plain http on 127.0.0.1.
        run_python(["manage.py", "migrate", "--noinput", "--skip-checks", "-v", "0"], env)
        inprocess = json.loads(
            run_python(
                ["-m", "benchmarks.inprocess", "--requests", str(args.inprocess_requests)], env
            )
        )
        print(inprocess_table(inprocess, statements=args.statements), end="\n\n", flush=True)
        outcome = {"database": database.label, "inprocess": inprocess, "http": None, "api": []}
        if not args.http:
            return outcome
        seed = json.loads(
            run_python(["-m", "benchmarks.seed", "--users", str(args.concurrency)], env)
        )
        if args.part in ("all", "provider"):
            with Gunicorn(env, port, workers=2, worker_class=args.worker_class) as server:
                outcome["http"] = drive(args, seed, port)
            label = (
                f"HTTP, {database.label}: gunicorn 2 {args.worker_class} workers, "
                f"{args.concurrency} virtual users, at most {args.requests} operations or "
                f"{args.duration:g} s per scenario in {args.rounds} interleaved round(s)"
            )
            print(http_table(outcome["http"], label=label))
            print(ratio_line(outcome["http"]), end="\n\n", flush=True)
            if server.problems.strip():
                print(f"gunicorn said:\n{server.problems}\n")
        if args.part in ("all", "api"):
            for check in API_CHECKS:
                outcome["api"].append(drive_api(args, database, seed, signing_key, check))
        return outcome


def save(report: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / time.strftime("bench-%Y%m%d-%H%M%S.json")
    path.write_text(json.dumps(report, indent=2))
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from oauthkit.jose import generate_key

    started = time.monotonic()
    signing_key = generate_key(args.alg).export_private()
    print(
        f"oauthkit benchmark: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{args.alg} key; the load driver runs on the same CPUs as the server.\n",
        flush=True,
    )
    if args.api_driver == "wrk":
        from benchmarks import wrk

        if not wrk.available():
            raise SystemExit("--api-driver wrk needs wrk on PATH (apt-get install wrk)")
    args.redis = args.redis_url if redis_answers(args.redis_url) else None
    if args.redis is None:
        print(
            f"Redis: nothing answers at {without_password(args.redis_url)}; the cache "
            "revocation check reads a local-memory cache in each process instead (not shared "
            "between gunicorn's workers, so not what a site runs; a memory lookup also costs "
            "less than a Redis round trip).\n",
            flush=True,
        )
    outcomes, failures = [], []
    for database in databases(args):
        try:
            outcomes.append(run_database(database, args, signing_key))
        except Exception as error:  # report it, and still measure the other database
            failures.append(f"{database.label}: {error}")
            print(f"{database.label}: the benchmark failed:\n{error}\n", flush=True)
    missed, errors = [], 0
    for outcome in outcomes:
        for row in outcome["inprocess"]["rows"]:
            if row["passed"] is False:
                missed.append(f"{outcome['database']} in-process {row['name']}")
        if outcome["http"]:
            errors += sum(r["errors"] for r in outcome["http"])
            ratio = ceiling_ratio(outcome["http"])
            if ratio and not ratio[1]:
                missed.append(f"{outcome['database']} client_credentials/ceiling {ratio[0]:.0%}")
        for api in outcome["api"]:
            errors += sum(r["errors"] for r in api["results"])
            ratio = api_ratio(api["results"], api["check"])
            if api["check"] == API_RATIO_CHECK and ratio and not ratio[1]:
                missed.append(
                    f"{outcome['database']} api ping ({api['check']} check)/open {ratio[0]:.0%}"
                )
    report = {
        "arguments": {
            k: v for k, v in vars(args).items() if k not in ("pg_url", "redis_url", "redis")
        },
        "redis": bool(args.redis),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "results": outcomes,
        "missed": missed,
        "failures": failures,
    }
    path = save(report)
    print(f"Targets missed: {'; '.join(missed) if missed else 'none'}")
    if errors:
        print(f"{errors} HTTP operations failed (see 'first error' above).")
    if failures:
        print(f"Not measured: {'; '.join(f.splitlines()[0] for f in failures)}")
    print(f"Done in {time.monotonic() - started:.0f} s; results in {path.relative_to(ROOT)}")
    return 1 if errors or failures or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
