"""The tables the benchmark prints, with the issue's targets and PASS/FAIL."""

from __future__ import annotations

from typing import Any

#: Token issuance (client_credentials) must reach this share of the ceiling's rate.
CEILING_RATIO_TARGET = 0.5
#: GET /api/ping with a JWT and the cache revocation check must reach this share of the rate
#: of GET /api/ping/open on the same server (issue 4, "Speed").
API_RATIO_TARGET = 0.9
#: The revocation check that API_RATIO_TARGET applies to; the others are reported only.
API_RATIO_CHECK = "cache"

API_PING_OPEN = "api ping open"


def api_ping_name(check: str) -> str:
    """The scenario name of ``GET /api/ping`` with a JWT, under a revocation check."""
    return f"api ping (JWT, {check} check)"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table; the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        out = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def verdict(row: dict[str, Any]) -> str:
    if row.get("passed") is None:
        return "-"
    if row["passed"]:
        return "PASS"
    return f"FAIL ({', '.join(row['failed'])})"


def inprocess_table(result: dict[str, Any], *, statements: bool = False) -> str:
    """SQL queries and CPU ms per request, against the targets."""
    rows = []
    for row in result["rows"]:
        queries = str(row["queries"])
        if row["queries_min"] != row["queries"]:
            queries = f"{row['queries_min']}-{row['queries']}"
        rows.append(
            [
                row["name"],
                queries,
                f"{row['cpu_ms']:.2f}",
                f"{row['cpu_ms_median']:.2f}",
                row.get("target_text", "reference"),
                verdict(row),
            ]
        )
    title = (
        f"In-process, {result['database']}: {result['requests']} requests per scenario, "
        f"{result['signing_alg']} signing key (transaction statements not counted; "
        f"'~1 ms' passes up to {result['cpu_tolerance']:g}x)"
    )
    text = [title, table(["scenario", "queries", "CPU ms", "median", "target", "result"], rows)]
    if result.get("revocation_cache"):
        text.append(f"The cache check reads the revocation list in {result['revocation_cache']}.")
    machine = result.get("machine")
    if machine:
        text.append(
            f"This machine: one PBKDF2 password check ({machine['pbkdf2_iterations']:,} "
            f"iterations, Django's default) takes {machine['pbkdf2_ms']:.0f} ms of CPU (issue 2's "
            f"machine: about 200 ms); one {result['signing_alg']} signature "
            f"{machine['signature_ms']:.2f} ms."
        )
    if statements:
        for row in result["rows"]:
            text.append(f"\n{row['name']}:")
            text.extend(f"  {sql}" for sql in row["statements"])
    return "\n".join(text)


def http_table(results: list[dict[str, Any]], *, label: str) -> str:
    """Operations per second and latency percentiles per scenario."""
    rows = []
    for r in results:
        per_op = r["requests_per_operation"]
        rate = f"{r['per_second']:.0f}"
        if per_op > 1:
            rate += f" ({r['http_requests_per_second']:.0f} req/s)"
        rows.append(
            [
                r["name"] + (f" [{per_op} requests]" if per_op > 1 else ""),
                str(r["operations"]),
                rate,
                f"{r['p50_ms']:.1f}",
                f"{r['p99_ms']:.1f}",
                str(r["errors"]),
            ]
        )
    header = ["scenario", "ops", "ops/s", "p50 ms", "p99 ms", "errors"]
    text = [label, table(header, rows)]
    for r in results:
        if r["first_error"]:
            text.append(f"  first error in {r['name']}: {r['first_error'][:300]}")
    return "\n".join(text)


def ceiling_ratio(results: list[dict[str, Any]]) -> tuple[float, bool] | None:
    """(client_credentials rate / ceiling rate, whether it meets the target)."""
    by_name = {r["name"]: r for r in results}
    issued, ceiling = by_name.get("client_credentials"), by_name.get("ceiling")
    if not issued or not ceiling or not ceiling["per_second"]:
        return None
    ratio = issued["per_second"] / ceiling["per_second"]
    return ratio, ratio >= CEILING_RATIO_TARGET


def ratio_line(results: list[dict[str, Any]]) -> str:
    found = ceiling_ratio(results)
    if found is None:
        return "client_credentials / ceiling: not measured"
    ratio, passed = found
    return (
        f"client_credentials / ceiling = {ratio:.0%} "
        f"(target >= {CEILING_RATIO_TARGET:.0%}): {'PASS' if passed else 'FAIL'}"
    )


def api_ratio(results: list[dict[str, Any]], check: str) -> tuple[float, bool | None] | None:
    """(ping rate / open rate, whether it meets the target; None where there is none)."""
    by_name = {r["name"]: r for r in results}
    ping, open_ = by_name.get(api_ping_name(check)), by_name.get(API_PING_OPEN)
    if not ping or not open_ or not open_["per_second"]:
        return None
    ratio = ping["per_second"] / open_["per_second"]
    return ratio, (ratio >= API_RATIO_TARGET if check == API_RATIO_CHECK else None)


def api_ratio_line(results: list[dict[str, Any]], check: str) -> str:
    name = f"{api_ping_name(check)} / {API_PING_OPEN}"
    found = api_ratio(results, check)
    if found is None:
        return f"{name}: not measured"
    ratio, passed = found
    if passed is None:
        return f"{name} = {ratio:.0%} (no target)"
    verdict_ = "PASS" if passed else "FAIL"
    return f"{name} = {ratio:.0%} (target >= {API_RATIO_TARGET:.0%}): {verdict_}"
