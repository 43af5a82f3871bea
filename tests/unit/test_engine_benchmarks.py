"""What the real-engine benchmarks compute from what they observe, without an engine."""
from __future__ import annotations

from benchmarks.dns_throughput import summarize
from benchmarks.engine_measures import percentile
from benchmarks.failover import summary

DNSPERF_LOG = """\
DNS Performance Testing Tool
[Status] Sending queries (to 127.0.0.1:53)
> NOERROR distributed_app.service.consul SRV 0.001000
> NOERROR distributed_app.service.consul SRV 0.003000
> SERVFAIL distributed_app.service.consul SRV 0.002000
> NOERROR distributed_app.service.consul SRV 0.002000
> T distributed_app.service.consul SRV
> I distributed_app.service.consul SRV

Statistics:

  Queries sent:         6
  Queries completed:    4 (66.67%)
  Queries lost:         1 (16.67%)

  Response codes:       NOERROR 3 (75.00%), SERVFAIL 1 (25.00%)
  Queries per second:   4.000000
"""


def test_percentile_is_nearest_rank() -> None:
    values = [float(n) for n in range(1, 21)]
    assert percentile(values, 0.5) == 10
    assert percentile(values, 0.95) == 19
    assert percentile([3.0], 0.95) == 3


def test_dnsperf_log_counts_lost_queries_and_error_answers_but_not_the_interrupted() -> None:
    figures = summarize(DNSPERF_LOG, wall=2.0, generator_cpu=0.5, server_cpu=1.0)
    assert (figures["queries_sent"], figures["answered"], figures["lost"], figures["error_answers"], figures["errors"]) == (6, 3, 1, 1, 2)
    assert figures["qps"] == 1.5
    assert figures["latency_ms"] == {"p50": 2.0, "p95": 3.0, "p99": 3.0}
    assert (figures["generator_cpu_share"], figures["server_cpu_share"]) == (0.25, 0.5)


def test_failover_summary_leaves_out_what_a_trial_did_not_see() -> None:
    assert summary([2.0, None, 1.0]) == {"p50": 1.0, "p95": 2.0, "all": [2.0, None, 1.0]}
    assert summary([None]) == {"p50": None, "p95": None, "all": [None]}
