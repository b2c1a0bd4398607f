"""The API's ping scenarios driven by wrk (Debian's ``wrk``), a load generator in C.

The default driver (``load.py``) is Python threads on the same two CPUs as the server;
its own cost per request is a large share of a request as cheap as ``/api/ping``, and it
varies with the machine. wrk spends far less per request, so its figures say more about
the server. ``run.py --api-driver wrk`` uses it; ``--api-driver python`` (the default)
keeps the threads.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from benchmarks.load import HOST

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def available() -> bool:
    return shutil.which("wrk") is not None


@dataclass
class WrkResult:
    """wrk's totals for one scenario, merged over rounds (same interface as load.Result)."""

    name: str
    requests_per_operation: int
    concurrency: int
    elapsed: float = 0.0
    requests: int = 0
    errors: int = 0
    #: (requests, p50 ms, p99 ms) of each round, for request-weighted percentiles.
    rounds: tuple = ()
    first_error: str | None = None

    @property
    def operations(self) -> int:
        return self.requests

    @property
    def per_second(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def percentile_ms(self, p: float) -> float:
        # wrk reports percentiles per run; across rounds, their request-weighted mean.
        index = 1 if p == 50 else 2
        total = sum(r[0] for r in self.rounds)
        return sum(r[0] * r[index] for r in self.rounds) / total if total else float("nan")

    def merged(self, other: WrkResult) -> WrkResult:
        return WrkResult(
            self.name,
            self.requests_per_operation,
            self.concurrency,
            elapsed=self.elapsed + other.elapsed,
            requests=self.requests + other.requests,
            errors=self.errors + other.errors,
            rounds=self.rounds + other.rounds,
            first_error=self.first_error or other.first_error,
        )

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "requests_per_operation": 1,
            "concurrency": self.concurrency,
            "operations": self.operations,
            "elapsed_s": self.elapsed,
            "per_second": self.per_second,
            "http_requests_per_second": self.per_second,
            "p50_ms": self.percentile_ms(50),
            "p99_ms": self.percentile_ms(99),
            "errors": self.errors,
            "first_error": self.first_error,
            "driver": "wrk",
        }


def run_wrk(
    name: str, path: str, *, port: int, concurrency: int, duration: float, token: str | None
) -> WrkResult:
    """``wrk`` for ``duration`` seconds with ``concurrency`` connections on one thread."""
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(duration))}s", "--latency"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    command.append(f"http://{HOST}:{port}{path}")
    out = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60).stdout
    requests, seconds, unit = _match(r"(\d+) requests in ([\d.]+)(ms|s|m)\b", out)
    elapsed = float(seconds) * {"ms": 1e-3, "s": 1.0, "m": 60.0}[unit]
    bad = _match(r"Non-2xx or 3xx responses: (\d+)", out, default=("0",))[0]
    errors = int(bad) + sum(
        int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out)
    )
    return WrkResult(
        name,
        1,
        concurrency,
        elapsed=elapsed,
        requests=int(requests) - int(bad),
        errors=errors,
        rounds=((int(requests), _latency(out, "50%"), _latency(out, "99%")),),
        first_error=f"{bad} non-2xx responses" if int(bad) else None,
    )


def _match(pattern: str, text: str, default=None):
    found = re.search(pattern, text, re.MULTILINE)
    if found is None:
        if default is not None:
            return default
        raise RuntimeError(f"unexpected wrk output: {text[:500]!r}")
    return found.groups()


def _latency(text: str, percentile: str) -> float:
    pattern = rf"^\s*{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\s*$"
    value, unit = _match(pattern, text.replace("\r", ""), default=("nan", "ms"))
    return float(value) * _UNITS[unit]
