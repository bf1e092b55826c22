"""Shared parts of the competitor drivers: arguments, a throwaway database, timing, output.

The drivers (`pgqueuer_bench.py`, `procrastinate_bench.py`) run with the benchmark
environment's Python (`build/bench-env`, made by `scripts/bench.py`), which has asyncpg,
psycopg, pgqueuer and procrastinate; this module needs only asyncpg and the standard
library. Each driver imports it as `_common` (its own folder is first on `sys.path`).

Every driver measures the same four things, the same way:

- `publish_per_s`: single-event publishes, `producers` concurrent producers (one
  connection each, from one pool), `publish_count` events in all;
- `publish_many_per_s`: batched publishes of `batch_size` events from one producer,
  `publish_many_count` events in all;
- `consume_per_s`: a no-op handler draining a pre-filled queue of `consume_count` events
  (claim + handler + ack), from the first claim until the last event is acknowledged;
- `latency_p50_ms`, `latency_p99_ms`: publish -> handler latency at a fixed offered rate
  (`latency_rate` events/s for `latency_seconds` s, open loop: each publish starts on its
  own schedule whatever the previous one is doing), with the consumer already running
  and idle, woken by LISTEN/NOTIFY. One sample is the time from just before the publish
  call starts to the first line of the handler, both read from `time.perf_counter()` in
  the same process.

Each driver prints progress on stderr and, last on stdout, one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import platform
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine

# How long a latency run waits, after its last publish, for the handler to see every event.
DRAIN_TIMEOUT_SECONDS = 10.0
METRICS = (
    "publish_per_s",
    "publish_many_per_s",
    "consume_per_s",
    "latency_p50_ms",
    "latency_p99_ms",
)


@dataclass(frozen=True)
class Defaults:
    """A driver's default workload; every value can be overridden on the command line."""

    producers: int = 16
    publish_count: int = 10_000
    batch_size: int = 1_000
    publish_many_count: int = 50_000
    consume_count: int = 20_000
    latency_rate: float = 500.0
    latency_seconds: float = 10.0
    warmup: int = 200


def parse_args(
    description: str,
    defaults: Defaults,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """The workload arguments every driver takes, plus the driver's own (`extra`)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--database-url", required=True, help="a server where we may CREATE DATABASE"
    )
    parser.add_argument("--producers", type=int, default=defaults.producers)
    parser.add_argument("--publish-count", type=int, default=defaults.publish_count)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--publish-many-count", type=int, default=defaults.publish_many_count)
    parser.add_argument("--consume-count", type=int, default=defaults.consume_count)
    parser.add_argument("--latency-rate", type=float, default=defaults.latency_rate)
    parser.add_argument("--latency-seconds", type=float, default=defaults.latency_seconds)
    parser.add_argument(
        "--warmup",
        type=int,
        default=defaults.warmup,
        help="events published (untimed) before each timed phase",
    )
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="event loop implementation (uvloop when installed)",
    )
    if extra is not None:
        extra(parser)
    return parser.parse_args()


def log(message: str) -> None:
    """Progress for the person running the benchmark: stderr, never stdout."""
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100) of `samples`, linearly interpolated between ranks."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def with_database(url: str, database: str) -> str:
    """`url` pointing at `database` instead (keeps the host, socket and other options)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


@contextlib.asynccontextmanager
async def temporary_database(url: str, system: str) -> AsyncIterator[str]:
    """Create `bench_<system>_<random>` on the server of `url`, yield its URL, then drop it."""
    name = f"bench_{system}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        log(f"[{system}] created database {name}")
        try:
            yield with_database(url, name)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            log(f"[{system}] dropped database {name}")
    finally:
        await admin.close()


async def server_version(url: str) -> str:
    connection = await asyncpg.connect(url)
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


def payload(seq: int) -> bytes:
    """The event body every system carries: a small JSON object naming the event."""
    return b'{"seq": %d}' % seq


def seq_of(body: bytes | None) -> int:
    if body is None:
        raise ValueError("event without a payload")
    return int(json.loads(body)["seq"])


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else math.nan


async def timed(coroutine: Awaitable[Any]) -> float:
    """Seconds `coroutine` took to complete."""
    start = time.perf_counter()
    await coroutine
    return time.perf_counter() - start


async def concurrent_producers(
    producers: int, count: int, publish: Callable[[int], Awaitable[Any]], first_seq: int = 0
) -> float:
    """`count` publishes spread over `producers` concurrent loops; returns events/s."""

    async def producer(index: int) -> None:
        for seq in range(first_seq + index, first_seq + count, producers):
            await publish(seq)

    seconds = await timed(asyncio.gather(*(producer(i) for i in range(producers))))
    return rate(count, seconds)


@dataclass
class LatencyProbe:
    """Send and receive times of the events of an offered-load run, keyed by `seq`."""

    sent: dict[int, float] = field(default_factory=dict)
    received: dict[int, float] = field(default_factory=dict)
    expected: range = range(0)
    outstanding: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def expect(self, seqs: range) -> None:
        self.expected = seqs
        self.outstanding = len(seqs)
        self.done.clear()

    def handled(self, seq: int) -> None:
        """Call first thing in the handler."""
        now = time.perf_counter()
        if seq in self.received:
            return
        self.received[seq] = now
        if seq in self.expected:
            self.outstanding -= 1
            if self.outstanding == 0:
                self.done.set()


@dataclass(frozen=True)
class LatencyResult:
    offered_rate: float
    achieved_rate: float
    samples: int
    lost: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float


async def offered_load(
    publish: Callable[[int], Awaitable[Any]],
    probe: LatencyProbe,
    *,
    rate_per_s: float,
    seconds: float,
    first_seq: int,
) -> LatencyResult:
    """Publish `rate_per_s * seconds` events on a fixed schedule (open loop) and measure.

    Each publish runs in its own task at its scheduled time, so a slow publish delays no
    other one; `achieved_rate` says whether the schedule was kept.
    """
    count = max(1, round(rate_per_s * seconds))
    seqs = range(first_seq, first_seq + count)
    probe.expect(seqs)
    pending: set[asyncio.Task[Any]] = set()

    async def send(seq: int) -> None:
        probe.sent[seq] = time.perf_counter()
        await publish(seq)

    start = time.perf_counter()
    for index, seq in enumerate(seqs):
        delay = start + index / rate_per_s - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(send(seq))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.gather(*pending)
    published = time.perf_counter() - start
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(probe.done.wait(), DRAIN_TIMEOUT_SECONDS)
    latencies = [(probe.received[s] - probe.sent[s]) * 1000.0 for s in seqs if s in probe.received]
    return LatencyResult(
        offered_rate=rate_per_s,
        achieved_rate=rate(count, published),
        samples=len(latencies),
        lost=count - len(latencies),
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        mean_ms=sum(latencies) / len(latencies) if latencies else math.nan,
        max_ms=max(latencies, default=math.nan),
    )


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "platform": platform.platform()}


def figures(
    args: argparse.Namespace,
    latency: LatencyResult,
    *,
    publish_per_s: float,
    publish_many_per_s: float,
    consume_per_s: float,
    **settings: object,
) -> dict[str, Any]:
    """What every driver's result holds: the machine, the workload with the driver's own
    `settings`, and the figures (rounded)."""
    return {
        **machine(),
        "settings": {
            "producers": args.producers,
            "publish_count": args.publish_count,
            "batch_size": args.batch_size,
            "publish_many_count": args.publish_many_count,
            "consume_count": args.consume_count,
            **settings,
            "latency_rate_offered": latency.offered_rate,
            "latency_rate_achieved": round(latency.achieved_rate, 1),
            "latency_seconds": args.latency_seconds,
            "latency_samples": latency.samples,
            "latency_lost": latency.lost,
            "loop": args.loop,
        },
        "publish_per_s": round(publish_per_s, 1),
        "publish_many_per_s": round(publish_many_per_s, 1),
        "consume_per_s": round(consume_per_s, 1),
        "latency_p50_ms": round(latency.p50_ms, 3),
        "latency_p99_ms": round(latency.p99_ms, 3),
        "latency_mean_ms": round(latency.mean_ms, 3),
        "latency_max_ms": round(latency.max_ms, 3),
    }


def emit(result: dict[str, Any]) -> None:
    """The driver's result: one JSON line, the last line on stdout."""
    missing = [key for key in METRICS if key not in result]
    if missing:
        raise ValueError(f"result lacks {missing}")
    sys.stdout.write(json.dumps(result, sort_keys=False) + "\n")
    sys.stdout.flush()


def run(main: Callable[[], Coroutine[Any, Any, None]], loop: str) -> None:
    """Run `main()` on uvloop when asked and installed, else on the default asyncio loop.

    SIGTERM (a timeout in `scripts/bench.py`) cancels `main()`, so that its `finally`
    blocks still run and the throwaway database is dropped.
    """

    async def cancellable() -> None:
        task = asyncio.current_task()
        if task is not None:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        await main()

    if loop == "uvloop":
        try:
            import uvloop  # noqa: PLC0415 - optional: the plain asyncio loop does too
        except ImportError:
            log("uvloop is not installed: using the default asyncio event loop")
        else:
            uvloop.run(cancellable())
            return
    asyncio.run(cancellable())
