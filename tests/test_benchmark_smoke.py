"""benchmarks/: the in-process part runs end to end and reports in the shape run.py prints.

Tiny counts and no timing assertions: the figures themselves come from
``python benchmarks/run.py``. What must hold is that every scenario really succeeded
(each request is checked inside the benchmark) and that the query budgets are applied.
"""

import pytest

from benchmarks import inprocess
from benchmarks.load import Result
from benchmarks.report import ceiling_ratio, http_table, inprocess_table, ratio_line

pytestmark = pytest.mark.django_db

SCENARIOS = ["client_credentials", "authorize (remembered consent)", "code exchange", "refresh"]


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


def test_query_budgets_decide_pass_or_fail(monkeypatch):
    # A budget below the real count must fail the row on queries.
    monkeypatch.setitem(inprocess.TARGETS, "refresh", inprocess.Target(queries=1))
    report = inprocess.measure(requests=1)
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
