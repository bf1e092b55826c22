"""The pure parts of scripts/bench.py (`make bench`): medians, ratios, targets, the table.

Nothing here runs or times a benchmark.
"""

from __future__ import annotations

import math
import socket
from typing import TYPE_CHECKING, Any

import pytest

from scripts.bench import (
    AGENT_METRICS,
    EXTENDED_ARGS,
    METRICS,
    TARGETS,
    BenchError,
    agent_metrics,
    aggregate,
    command_for,
    compute_ratios,
    extended_metrics,
    format_report,
    last_json_line,
    median_of_rounds,
    redis_answers,
    reflex_phases,
    round_order,
)

if TYPE_CHECKING:
    from pathlib import Path


def measured(**values: float) -> dict[str, float]:
    return {metric: values.get(metric, 1.0) for metric in METRICS}


# median_of_rounds ----------------------------------------------------------------
def test_median_of_rounds_takes_the_median_per_metric() -> None:
    rounds = [
        measured(consume_per_s=100.0, latency_p50_ms=3.0),
        measured(consume_per_s=300.0, latency_p50_ms=1.0),
        measured(consume_per_s=200.0, latency_p50_ms=2.0),
    ]
    medians = median_of_rounds(rounds)
    assert medians["consume_per_s"] == 200.0
    assert medians["latency_p50_ms"] == 2.0
    assert set(medians) == set(METRICS)


def test_median_of_rounds_skips_what_a_round_did_not_measure() -> None:
    rounds: list[dict[str, Any]] = [
        {"consume_per_s": 10.0, "publish_per_s": None},
        {"consume_per_s": 20.0, "publish_per_s": math.nan},
        {"error": "timed out"},
    ]
    medians = median_of_rounds(rounds)
    assert medians["consume_per_s"] == 15.0
    assert medians["publish_per_s"] is None
    assert medians["latency_p99_ms"] is None


def test_rounds_rotate_the_order_of_the_systems() -> None:
    systems = ["reflex", "pgqueuer", "procrastinate"]
    assert round_order(systems, 1) == systems
    assert round_order(systems, 2) == ["pgqueuer", "procrastinate", "reflex"]
    assert round_order(systems, 4) == systems
    assert round_order(["pgqueuer"], 3) == ["pgqueuer"]


# compute_ratios ------------------------------------------------------------------
def test_ratios_divide_reflex_by_the_competitor() -> None:
    ratios = compute_ratios(
        {
            "reflex": measured(consume_per_s=30_000, publish_many_per_s=45_000, latency_p50_ms=1),
            "pgqueuer": measured(consume_per_s=12_000, publish_many_per_s=45_000, latency_p50_ms=2),
            "procrastinate": measured(consume_per_s=300),
        }
    )
    assert ratios["consume_vs_pgqueuer"] == pytest.approx(2.5)
    assert ratios["consume_vs_procrastinate"] == pytest.approx(100.0)
    assert ratios["publish_many_vs_pgqueuer"] == pytest.approx(1.0)
    assert ratios["latency_p50_vs_pgqueuer"] == pytest.approx(0.5)
    for required in (
        "consume_vs_pgqueuer",
        "consume_vs_procrastinate",
        "publish_many_vs_pgqueuer",
        "publish_vs_pgqueuer",
        "latency_p50_vs_pgqueuer",
    ):
        assert required in ratios


def test_ratios_are_none_without_both_sides() -> None:
    ratios = compute_ratios(
        {"reflex": None, "pgqueuer": measured(consume_per_s=0), "procrastinate": measured()}
    )
    assert all(value is None for value in ratios.values())
    only_reflex = compute_ratios({"reflex": measured(), "pgqueuer": measured(consume_per_s=0)})
    assert only_reflex["consume_vs_pgqueuer"] is None  # zero denominator
    assert only_reflex["consume_vs_procrastinate"] is None  # not run


# targets and the table -----------------------------------------------------------
def test_targets_check_bounds_in_both_directions() -> None:
    consume = next(t for t in TARGETS if t.key == "consume_per_s")
    p99 = next(t for t in TARGETS if t.key == "latency_p99_ms")
    assert consume.check(measured(consume_per_s=25_000), {}) == (25_000, True)
    assert consume.check(measured(consume_per_s=19_999), {}) == (19_999, False)
    assert p99.check(measured(latency_p99_ms=4.0), {}) == (4.0, True)
    assert p99.check(measured(latency_p99_ms=6.0), {}) == (6.0, False)
    assert consume.check(None, {}) == (None, None)
    ratio = next(t for t in TARGETS if t.key == "consume_vs_pgqueuer")
    assert ratio.check(None, {"consume_vs_pgqueuer": 1.6}) == (1.6, True)


def report(reflex: dict[str, Any] | None) -> dict[str, Any]:
    results: dict[str, Any] = {
        "reflex": reflex,
        "pgqueuer": {
            **measured(publish_per_s=2_200, consume_per_s=11_700, latency_p50_ms=1.55),
            "settings": {"latency_rate_offered": 500.0, "latency_rate_achieved": 499.8},
        },
        "procrastinate": {"error": "exited with 1"},
    }
    return {**results, "ratio": compute_ratios(results)}


def test_table_shows_figures_targets_and_verdicts() -> None:
    text = format_report(
        report(measured(consume_per_s=23_400, publish_per_s=4_000, latency_p50_ms=1.2))
    )
    lines = text.splitlines()
    assert lines[0].split() == ["metric", "reflex", "pgqueuer", "procrastinate"]
    consume_row = next(line for line in lines if line.startswith("consume/s"))
    assert consume_row.split()[-3:] == ["23,400", "11,700", "error"]
    assert "500/500" in text
    assert next(line for line in lines if line.startswith("consume events/s")).endswith("yes")
    assert next(line for line in lines if line.startswith("publish() events/s")).endswith("NO")
    assert "2.00x" in next(line for line in lines if line.startswith("consume vs pgqueuer"))
    # procrastinate failed, so the ratio against it cannot be judged.
    assert next(line for line in lines if line.startswith("consume vs procr")).endswith("pending")


def test_table_marks_reflex_pending_when_it_was_not_measured() -> None:
    for reflex in (None, {"error": "the generated project has no scripts/bench.py"}):
        lines = format_report(report(reflex)).splitlines()
        publish_row = next(line for line in lines if line.startswith("publish/s"))
        assert publish_row.split()[-3] == "pending"
        verdicts = [line.split()[-1] for line in lines[lines.index("") + 3 :]]
        assert verdicts == ["pending"] * len(TARGETS)


def test_table_has_a_redis_column_only_when_the_redis_store_ran() -> None:
    with_redis = report(measured(consume_per_s=23_400))
    with_redis["reflex_redis"] = measured(consume_per_s=13_100)
    lines = format_report(with_redis).splitlines()

    assert lines[0].split() == ["metric", "reflex", "reflex_redis", "pgqueuer", "procrastinate"]
    consume_row = next(line for line in lines if line.startswith("consume/s"))
    assert consume_row.split()[-4:] == ["23,400", "13,100", "11,700", "error"]


def test_the_redis_targets_judge_the_redis_columns_and_the_ceiling_is_shown() -> None:
    results: dict[str, Any] = {
        "reflex": measured(consume_per_s=20_000, publish_per_s=10_000),
        "reflex_redis": measured(
            consume_per_s=55_000, publish_per_s=12_000, publish_many_per_s=90_000
        ),
        "reflex_redis_cluster": measured(consume_per_s=30_000),
        "redis_raw": measured(
            consume_per_s=110_000, publish_per_s=24_000, publish_many_per_s=180_000
        ),
    }
    lines = format_report({**results, "ratio": compute_ratios(results)}).splitlines()

    def verdict(label: str) -> str:
        return next(line for line in lines if line.startswith(label)).split()[-1]

    assert lines[0].split() == [
        "metric", "reflex", "reflex_redis", "reflex_redis_cluster", "redis_raw"
    ]  # fmt: skip
    assert verdict("Redis consume events/s") == "yes"  # 55,000 >= 50,000
    assert verdict("Redis consume vs PostgreSQL") == "yes"  # 2.75x
    assert verdict("Redis publish() vs PostgreSQL") == "NO"  # 1.2x
    assert verdict("Redis publish_many() events/s") == "NO"  # 90,000 < 100,000
    assert verdict("cluster consume vs PostgreSQL") == "NO"  # 1.5x
    heading = next(i for i, line in enumerate(lines) if line.startswith("how close"))
    ceiling = lines[heading + 2 :]
    assert [line.split()[-2:] for line in ceiling] == [
        ["publish", "0.50x"],
        ["publish_many", "0.50x"],
        ["consume", "0.50x"],
    ]


def test_without_raw_redis_no_ceiling_is_shown() -> None:
    results: dict[str, Any] = {"reflex": measured(), "reflex_redis": measured()}
    text = format_report({**results, "ratio": compute_ratios(results)})
    assert "ceiling" not in text


def test_redis_answers_is_false_where_nothing_listens() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, never listening: connecting is refused
        assert redis_answers(f"redis://127.0.0.1:{port}/0", timeout=0.5) is False


# the benchmarks' output ----------------------------------------------------------
def test_last_json_line_reads_the_result_after_the_table() -> None:
    stdout = 'metric  value\npublish  1/s\n{"publish_per_s": 1, "publish_many_per_s": 2, ' + (
        '"consume_per_s": 3, "latency_p50_ms": 4, "latency_p99_ms": 5}\n\n'
    )
    assert last_json_line(stdout)["consume_per_s"] == 3


@pytest.mark.parametrize(
    "stdout", ["", "a table only\n", '{"publish_per_s": 1}\n', "[1, 2]\n"], ids=repr
)
def test_last_json_line_rejects_what_is_not_a_result(stdout: str) -> None:
    with pytest.raises(BenchError):
        last_json_line(stdout)


# --extended ------------------------------------------------------------------------
def extended_round(
    consume: float, after: float, snapshot: list[float], http: float
) -> dict[str, Any]:
    return {
        **measured(consume_per_s=consume),
        "completed_events": 1_000_000,
        "consume_after_completed_per_s": after,
        "snapshot_seconds": 60.0,
        "consume_snapshot_rounds_per_s": snapshot,
        "http_post_events_per_s": http,
    }


def test_extended_figures_are_judged_against_the_rounds_empty_table_consume() -> None:
    figures = extended_metrics(extended_round(20_000, 17_000, [19_000, 9_000, 12_000], 3_000))
    assert figures == {
        "consume_after_completed_vs_empty": 0.85,
        "consume_snapshot_slowest_vs_empty": 0.45,
        "http_post_events_per_s": 3_000,
    }
    assert set(extended_metrics(measured())) == set(figures)
    assert all(value is None for value in extended_metrics(measured()).values())


def test_extended_targets_get_verdicts_once_measured() -> None:
    rounds = [
        extended_round(20_000, 17_000, [19_000, 12_000], 3_000),
        extended_round(22_000, 15_400, [21_000, 8_800], 1_400),
        extended_round(21_000, 17_850, [20_000, 10_500], 1_600),
    ]
    lines = format_report(report(aggregate("reflex", rounds))).splitlines()

    def row(label: str) -> list[str]:
        return next(line for line in lines if line.startswith(label)).split()

    # Medians of the rounds: 0.85x, 0.50x (exactly the bound) and 1,600/s.
    assert row("consume, 1M completed")[-4:] == ["0.85x", ">=", "0.8", "yes"]
    assert row("consume, 60 s snapshot")[-4:] == ["0.50x", ">=", "0.5", "yes"]
    assert row("POST /events")[-4:] == ["1,600", ">=", "1,500", "yes"]
    without = format_report(report(aggregate("reflex", [measured(consume_per_s=20_000)])))
    assert next(line for line in without.splitlines() if line.startswith("POST /events")).endswith(
        "pending"
    )


URL = "postgresql://server/db"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with what `command_for` looks for in a generated project."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "bench.py").write_text("")
    return tmp_path


def test_extended_phases_are_asked_of_the_postgresql_project_only(project: Path) -> None:
    phases = reflex_phases(extended=True, agent_turns=0)
    assert set(EXTENDED_ARGS) <= set(command_for("reflex", URL, project, (), reflex=phases))
    assert not set(EXTENDED_ARGS) & set(command_for("reflex", URL, project, ()))
    redis = command_for("reflex_redis", URL, project, (), reflex=phases)
    assert "--completed" not in redis


# the agent path --------------------------------------------------------------------
def agent_round(first_p50: float, turns_per_s: float, *, two_p50: float = 40.0) -> dict[str, Any]:
    """One round of the generated benchmark with `--ws`: its `websocket` figures, one entry
    per deployment, as `bench_ws.Figures` writes them."""
    one = {
        "processes": 1,
        "first_frame_p50_ms": first_p50,
        "first_frame_p99_ms": first_p50 * 3,
        "result_p50_ms": first_p50 * 2,
        "concurrent_turns_per_s": turns_per_s,
        "concurrent_cpu_ms_per_turn": 18.0,
        "idle_rss_per_connection_kib": 85.5,
        "alone_first_tool_result_p50_ms": 3.1,
        "alone_cpu_ms_per_run": 6.2,
        "alone_runs_per_s": 125.0,
    }
    two = {**one, "processes": 2, "first_frame_p50_ms": two_p50, "concurrent_turns_per_s": 41.0}
    return {**measured(consume_per_s=20_000), "websocket": [one, two]}


def test_agent_figures_are_read_per_deployment() -> None:
    figures = agent_metrics(agent_round(12.0, 50.0, two_p50=30.0))
    assert figures["agent_first_frame_p50_ms"] == 12.0
    assert figures["agent_first_frame_p99_ms"] == 36.0
    assert figures["agent_turns_per_s"] == 50.0
    assert figures["agent_idle_kib_per_connection"] == 85.5
    assert figures["agent_two_processes_first_frame_p50_ms"] == 30.0
    assert figures["agent_two_processes_turns_per_s"] == 41.0
    assert figures["agent_alone_first_tool_result_p50_ms"] == 3.1
    assert figures["agent_alone_runs_per_s"] == 125.0
    assert set(figures) == set(AGENT_METRICS)
    for unmeasured in (measured(), {"websocket": None}, {"websocket": ["not figures"]}):
        assert all(value is None for value in agent_metrics(unmeasured).values())


def test_agent_targets_judge_the_medians_of_the_rounds() -> None:
    rounds = [agent_round(12.0, 40.0), agent_round(2.5, 600.0), agent_round(2.9, 520.0)]
    lines = format_report(report(aggregate("reflex", rounds))).splitlines()

    def row(label: str) -> list[str]:
        return next(line for line in lines if line.startswith(label)).split()

    # Medians: first frame p50 2.9 ms (met), p99 8.7 ms (met), 520 turns/s (met).
    assert row("agent first reply frame p50")[-4:] == ["2.90", "<=", "3", "yes"]
    assert row("agent first reply frame p99")[-4:] == ["8.70", "<=", "10", "yes"]
    assert row("agent turns/s, one process")[-4:] == ["520", ">=", "500", "yes"]
    assert row("two processes: first reply frame")[-1] == "40.00"
    assert row("memory KiB per idle connection")[-1] == "85.5"
    assert row("CPU ms per turn")[-1] == "18.0"
    assert row("the agent alone: first tool result p50 ms")[-1] == "3.10"
    assert row("the agent alone: CPU ms per run")[-1] == "6.2"
    assert row("the agent alone: runs/s")[-1] == "125"
    # How close the turns come to pydantic-ai's own rate: 520 / 125.
    assert row("agent turns/s / the agent alone's runs/s")[-1] == "4.16x"
    slow = format_report(report(aggregate("reflex", [agent_round(14.9, 34.0)]))).splitlines()
    assert next(line for line in slow if line.startswith("agent turns/s")).endswith("NO")


def test_without_the_agent_path_its_targets_are_pending_and_no_table_is_shown() -> None:
    text = format_report(report(aggregate("reflex", [measured(consume_per_s=20_000)])))
    assert "agent path" not in text
    assert next(line for line in text.splitlines() if line.startswith("agent turns/s")).endswith(
        "pending"
    )


def test_the_agent_path_is_asked_of_the_postgresql_project_only(project: Path) -> None:
    assert reflex_phases(extended=False, agent_turns=0) == []
    phases = reflex_phases(extended=False, agent_turns=200)
    assert phases == ["--ws", "200"]
    assert command_for("reflex", URL, project, (), reflex=phases)[-3:] == ["--ws", "200", "--json"]
    assert "--ws" not in command_for("reflex_redis", URL, project, (), reflex=phases)
    quick = reflex_phases(extended=True, agent_turns=5, quick=True)
    assert quick[: len(EXTENDED_ARGS)] == list(EXTENDED_ARGS)
    assert quick[len(EXTENDED_ARGS) :] == ["--ws", "5", "--ws-connections", "10", "--ws-idle", "20"]
