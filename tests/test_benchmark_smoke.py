"""benchmarks/: the in-process part runs end to end and reports in the shape run.py prints.

Tiny counts and no timing assertions: the figures themselves come from
``python benchmarks/run.py``. What must hold is that every scenario really succeeded
(each request is checked inside the benchmark) and that the query budgets are applied.
"""

import pytest

from benchmarks import inprocess
from benchmarks.load import Result
from benchmarks.report import (
    API_PING_OPEN,
    api_ping_name,
    api_ratio,
    api_ratio_line,
    ceiling_ratio,
    http_table,
    inprocess_table,
    ratio_line,
)

pytestmark = pytest.mark.django_db

SCENARIOS = [
    "client_credentials",
    "authorize (remembered consent)",
    "code exchange",
    "code exchange (openid)",
    "refresh",
]


def test_inprocess_report_shape():
    report = inprocess.measure(requests=2)

    assert report["database"] in ("sqlite", "postgresql")
    assert report["requests"] == 2
    assert report["signing_alg"] == "RS256"  # tests/settings.py's key
    # The test settings do not install the example project: no ceiling row.
    assert [row["name"] for row in report["rows"]] == SCENARIOS
    for row in report["rows"]:
        assert row["requests"] == 2
        assert row["cpu_ms"] > 0
        assert row["cpu_ms_median"] > 0
        # Every request reads or writes; transaction statements are left out.
        assert 0 < row["queries_min"] <= row["queries"] == len(row["statements"])
        assert not any(sql.startswith(inprocess.TRANSACTION_CONTROL) for sql in row["statements"])
        assert row["target"]["queries"] == inprocess.TARGETS[row["name"]].queries
        assert row["passed"] is (not row["failed"])
        assert set(row["failed"]) <= {"queries", "cpu"}
    machine = report["machine"]
    assert machine["pbkdf2_ms"] > machine["signature_ms"] > 0
    assert machine["pbkdf2_iterations"] >= 600_000
    assert "PBKDF2 password check" in inprocess_table(report)


def test_query_budgets_decide_pass_or_fail(monkeypatch):
    # A budget below the real count must fail the row on queries.
    monkeypatch.setitem(inprocess.TARGETS, "refresh", inprocess.Target(queries=1))
    report = inprocess.measure(requests=1, with_calibration=False)
    refresh = next(row for row in report["rows"] if row["name"] == "refresh")
    assert refresh["queries"] > 1
    assert refresh["passed"] is False
    assert refresh["failed"] == ["queries"]
    text = inprocess_table(report, statements=True)
    assert "FAIL (queries)" in text
    for name in SCENARIOS:
        assert name in text
    assert refresh["statements"][0] in text


def test_measure_refuses_zero_requests():
    with pytest.raises(ValueError):
        inprocess.measure(requests=0)


def test_http_report_ratio_against_the_ceiling():
    issued = Result("client_credentials", 1, 4, elapsed=2.0, latencies=[0.01] * 300)
    ceiling = Result("ceiling", 1, 4, elapsed=2.0, latencies=[0.004] * 500)
    results = [ceiling.as_dict(), issued.as_dict()]

    assert issued.per_second == 150
    assert issued.percentile_ms(99) == pytest.approx(10.0)
    ratio, passed = ceiling_ratio(results)
    assert ratio == pytest.approx(0.6)
    assert passed
    assert "= 60% (target >= 50%): PASS" in ratio_line(results)
    assert "client_credentials" in http_table(results, label="HTTP")
    assert ceiling_ratio([issued.as_dict()]) is None


def test_percentiles_use_the_nearest_rank():
    result = Result("x", 1, 1, elapsed=1.0, latencies=[i / 1000 for i in range(1, 101)])
    assert result.percentile_ms(50) == pytest.approx(50.0)
    assert result.percentile_ms(99) == pytest.approx(99.0)
    assert result.percentile_ms(100) == pytest.approx(100.0)


@pytest.mark.urls("example_project.urls")
def test_inprocess_measures_the_example_api(settings):
    # Where the example API is mounted, /api/ping is measured under both revocation checks.
    settings.INSTALLED_APPS = [
        *settings.INSTALLED_APPS,
        "example_project.demo",
        "example_project.api",
    ]
    report = inprocess.measure(requests=2, with_calibration=False)

    rows = {row["name"]: row for row in report["rows"]}
    api = [name for name in rows if name.startswith("api ping")]
    assert api == [API_PING_OPEN, api_ping_name("cache"), api_ping_name("database")]
    assert (rows[API_PING_OPEN]["queries_min"], rows[API_PING_OPEN]["queries"]) == (0, 0)
    assert rows[API_PING_OPEN]["target"] is None  # a reference
    cache, database = rows[api_ping_name("cache")], rows[api_ping_name("database")]
    # Issue 4: 0 queries with the cache check, 1 with the database check, every request.
    assert (cache["queries_min"], cache["queries"], cache["passed"]) == (0, 0, True)
    assert (database["queries_min"], database["queries"], database["passed"]) == (1, 1, True)
    assert "oauthkit_provider_accesstoken" in database["statements"][0]
    # The test settings have no REVOCATION_CACHE: the cache check reads "default".
    assert report["revocation_cache"].startswith("'default' (LocMemCache")
    text = inprocess_table(report)
    assert "=0 queries" in text
    assert "=1 query" in text


def test_exact_query_targets_fail_below_the_count():
    # The database check must run: 0 queries where 1 is expected is a failure too.
    row = inprocess.make_row(
        inprocess.Scenario(api_ping_name("database"), None, None, None), [0, 0], [], [0.001]
    )
    assert row["failed"] == ["queries"]
    assert row["passed"] is False


def test_http_report_api_ratio():
    open_ = Result(API_PING_OPEN, 1, 4, elapsed=2.0, latencies=[0.002] * 1000)
    cached = Result(api_ping_name("cache"), 1, 4, elapsed=2.0, latencies=[0.002] * 920)
    database = Result(api_ping_name("database"), 1, 4, elapsed=2.0, latencies=[0.004] * 500)

    ratio, passed = api_ratio([open_.as_dict(), cached.as_dict()], "cache")
    assert ratio == pytest.approx(0.92)
    assert passed
    line = api_ratio_line([open_.as_dict(), cached.as_dict()], "cache")
    assert line.endswith("= 92% (target >= 90%): PASS")
    slow = Result(api_ping_name("cache"), 1, 4, elapsed=2.0, latencies=[0.002] * 890)
    assert api_ratio_line([open_.as_dict(), slow.as_dict()], "cache").endswith("FAIL")
    # The database check is reported against the same open rate, without a target.
    assert api_ratio([open_.as_dict(), database.as_dict()], "database") == (0.5, None)
    assert "(no target)" in api_ratio_line([open_.as_dict(), database.as_dict()], "database")
    assert api_ratio([open_.as_dict()], "cache") is None
