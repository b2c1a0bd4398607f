"""Fresh databases for a run, and gunicorn serving the example project over them.

Every process this module starts is stopped by its own id; every database it creates
(a temporary SQLite file, or a PostgreSQL database of a fixed benchmark name) is removed.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/oauthkit_bench"
#: The shared cache of the API scenarios' revocation list (read only: nothing is written).
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
#: Keep database connections open between requests, as a production site would
#: (CONN_MAX_AGE, through django-environ's URL options). Token endpoint and ceiling alike.
CONN_MAX_AGE = 60


def with_conn_max_age(url: str, seconds: int = CONN_MAX_AGE) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}conn_max_age={seconds}" if seconds else url


#: SQLite in write-ahead-log mode, fsync at checkpoints only (Django 5.1+ init_command).
SQLITE_WAL_OPTIONS = "init_command=PRAGMA+journal_mode%3DWAL%3BPRAGMA+synchronous%3DNORMAL"


class SqliteDatabase:
    """A database file in a fresh temporary directory, removed afterwards.

    ``wal``: write-ahead log instead of the example project's default rollback journal,
    whose create-write-fsync-delete at every commit costs the most CPU of a request.
    """

    def __init__(self, *, wal: bool = False):
        self.wal = wal
        self.label = "SQLite (WAL)" if wal else "SQLite"

    def __enter__(self) -> SqliteDatabase:
        self.directory = tempfile.mkdtemp(prefix="oauthkit-bench-")
        self.url = f"sqlite:///{self.directory}/bench.sqlite3"
        if self.wal:
            self.url += f"?{SQLITE_WAL_OPTIONS}"
        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class PostgresDatabase:
    """The database named in ``url``, created empty (dropped first) and dropped afterwards.

    Use a name that belongs to the benchmark alone: anything there is lost.
    """

    label = "PostgreSQL"

    def __init__(self, url: str = DEFAULT_PG_URL):
        self.url = url
        parts = urlsplit(url)
        self.name = parts.path.lstrip("/")
        if not self.name.replace("_", "").isalnum():
            raise ValueError(f"Unsafe benchmark database name: {self.name!r}")
        self.admin_url = urlunsplit(parts._replace(path="/postgres", query=""))

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)

    def drop(self) -> None:
        try:
            # PostgreSQL 13+: end other sessions (a killed gunicorn's) first.
            self.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        except Exception:
            self.execute(f'DROP DATABASE IF EXISTS "{self.name}"')

    def __enter__(self) -> PostgresDatabase:
        self.drop()
        self.execute(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc) -> None:
        self.drop()


def postgres_answers(url: str = DEFAULT_PG_URL) -> bool:
    """Whether a PostgreSQL server accepts us at ``url``'s host (its ``postgres`` database)."""
    try:
        import psycopg

        admin = urlunsplit(urlsplit(url)._replace(path="/postgres", query=""))
        with psycopg.connect(admin, connect_timeout=2):
            return True
    except Exception:
        return False


def redis_answers(url: str = DEFAULT_REDIS_URL) -> bool:
    """Whether a Redis server answers PING at ``url``."""
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def without_password(url: str) -> str:
    """``url`` fit to print: any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def django_env(
    database_url: str,
    port: int,
    signing_key: str,
    *,
    redis_url: str | None = None,
    revocation_check: str = "database",
) -> dict[str, str]:
    """The example project's environment for a benchmark run (see its settings.py).

    ``redis_url``: the "shared" cache (the revocation list); None leaves it a per-process
    local-memory cache. ``revocation_check``: how its API checks a JWT's revocation.
    """
    env = dict(os.environ)
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(
        OAUTHKIT_REVOCATION_CHECK=revocation_check,
        DJANGO_SETTINGS_MODULE="example_project.settings",
        DATABASE_URL=with_conn_max_age(database_url),
        DEBUG="False",
        ALLOWED_HOSTS="127.0.0.1",
        OAUTHKIT_SIGNING_KEY=signing_key,
        OAUTHKIT_ISSUER=f"http://127.0.0.1:{port}",
        OAUTHKIT_LOG_LEVEL="WARNING",
        OAUTHKIT_BENCHMARK_CEILING="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
    )
    return env


def run_python(args: list[str], env: dict[str, str], timeout: float = 300) -> str:
    """Run ``python args...`` in the repository; its stdout, or an error with its stderr."""
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"`python {' '.join(args)}` failed:\n{done.stderr[-3000:]}")
    return done.stdout


class Gunicorn:
    """gunicorn serving example_project.wsgi on 127.0.0.1:``port`` until the block ends."""

    def __init__(self, env, port: int, *, workers: int = 2, worker_class: str = "sync"):
        self.env, self.port = env, port
        self.args = [
            "-m",
            "gunicorn",
            "example_project.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            worker_class,
            "--log-level",
            "warning",
            "--backlog",
            "256",
        ]
        if worker_class == "gthread":
            self.args += ["--threads", "4"]

    def __enter__(self) -> Gunicorn:
        self.log = tempfile.NamedTemporaryFile(prefix="oauthkit-bench-gunicorn-", suffix=".log")
        self.process = subprocess.Popen(
            [sys.executable, *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_ready(self, timeout: float = 30) -> None:
        """Until the metadata endpoint answers 200 (both workers import Django lazily)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/.well-known/oauth-authorization-server")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
                conn.close()
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM to our gunicorn master (it stops its workers); SIGKILL if it lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.problems = self.log_tail()
        self.log.close()

    def log_tail(self, size: int = 3000) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-size:]
