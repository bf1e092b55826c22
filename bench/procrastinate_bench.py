"""Benchmark procrastinate (PsycopgConnector) on a throwaway database; print one JSON line.

    build/bench-env/bin/python bench/procrastinate_bench.py --database-url postgresql://...

The workloads are described in `_common.py`. procrastinate is driven through its public
async API: the schema from `App.schema_manager.apply_schema_async()` (what
`procrastinate schema --apply` runs); `Task.defer_async` one job at a time from concurrent
producers sharing the connector's psycopg pool; `Task.batch_defer_async` for batches;
an async no-op task run by `App.run_worker_async(concurrency=..., wait=False)` to drain
the queue (`wait=False` stops the worker once the queue is empty), and by a waiting
worker (`listen_notify=True`, the default) for the latency run. Its worker fetches one
job per query, so the defaults here are smaller than pgqueuer's, and the offered rate
for the latency run is one it can sustain (100/s; the JSON says which rate was used).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

import _common
import asyncpg
import procrastinate

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from procrastinate.tasks import Task

SYSTEM = "procrastinate"
TASK = "bench"
DEFAULTS = _common.Defaults(
    producers=16,
    publish_count=2_000,
    batch_size=1_000,
    publish_many_count=20_000,
    consume_count=2_000,
    latency_rate=100.0,
    latency_seconds=10.0,
    warmup=100,
)


def extra_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--concurrency", type=int, default=10, help="App.run_worker_async(concurrency=...)"
    )


def build_app(
    url: str, pool_size: int, on_job: Callable[[int], None]
) -> tuple[procrastinate.App, Task[Any, Any, Any]]:
    """An App over its own psycopg pool, with one async task that calls `on_job(seq)`."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=url, min_size=pool_size, max_size=pool_size
        )
    )

    async def bench(seq: int) -> None:
        on_job(seq)

    return app, app.task(name=TASK)(bench)


def ignore(seq: int) -> None:
    del seq


async def reset(admin: asyncpg.Connection) -> None:
    """Empty the queue between phases, and refresh the planner's statistics."""
    await admin.execute("TRUNCATE procrastinate_jobs CASCADE")
    await admin.execute("ANALYZE")


async def measure_publish(url: str, args: argparse.Namespace) -> float:
    app, task = build_app(url, args.producers, ignore)
    async with app.open_async():

        async def publish(seq: int) -> None:
            await task.defer_async(seq=seq)

        await _common.concurrent_producers(
            args.producers, max(args.warmup, args.producers), publish
        )
        return await _common.concurrent_producers(
            args.producers, args.publish_count, publish, first_seq=1_000_000
        )


async def defer_batches(
    task: Task[Any, Any, Any], first_seq: int, count: int, batch_size: int
) -> None:
    for start in range(first_seq, first_seq + count, batch_size):
        seqs = range(start, min(start + batch_size, first_seq + count))
        jobs: list[dict[str, Any]] = [{"seq": s} for s in seqs]
        await task.batch_defer_async(*jobs)


async def measure_publish_many(url: str, args: argparse.Namespace) -> float:
    app, task = build_app(url, 2, ignore)
    async with app.open_async():
        await defer_batches(task, 0, args.batch_size, args.batch_size)
        seconds = await _common.timed(
            defer_batches(task, 2_000_000, args.publish_many_count, args.batch_size)
        )
    return _common.rate(args.publish_many_count, seconds)


async def measure_consume(url: str, admin: asyncpg.Connection, args: argparse.Namespace) -> float:
    await reset(admin)
    handled = 0

    def count(seq: int) -> None:
        nonlocal handled
        handled += 1

    app, task = build_app(url, args.concurrency + 4, count)
    async with app.open_async():
        await defer_batches(task, 0, args.consume_count, 1_000)
        await admin.execute("ANALYZE procrastinate_jobs")
        start = time.perf_counter()
        await app.run_worker_async(
            concurrency=args.concurrency, wait=False, install_signal_handlers=False
        )
        seconds = time.perf_counter() - start
    left = await admin.fetchval("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'")
    if handled != args.consume_count or left:
        raise RuntimeError(f"drained {handled} of {args.consume_count} jobs, {left} left to do")
    return _common.rate(args.consume_count, seconds)


async def measure_latency(
    url: str, admin: asyncpg.Connection, args: argparse.Namespace
) -> _common.LatencyResult:
    await reset(admin)
    probe = _common.LatencyProbe()
    worker_app, _ = build_app(url, args.concurrency + 4, probe.handled)
    producer_app, task = build_app(url, 16, ignore)
    async with worker_app.open_async(), producer_app.open_async():
        worker = asyncio.create_task(
            worker_app.run_worker_async(
                concurrency=args.concurrency, wait=True, install_signal_handlers=False
            )
        )
        try:

            async def publish(seq: int) -> None:
                await task.defer_async(seq=seq)

            await asyncio.sleep(0.5)  # the worker is up, listening and idle
            await _common.offered_load(
                publish,
                probe,
                rate_per_s=args.latency_rate,
                seconds=args.warmup / args.latency_rate,
                first_seq=0,
            )
            await asyncio.sleep(0.2)
            return await _common.offered_load(
                publish,
                probe,
                rate_per_s=args.latency_rate,
                seconds=args.latency_seconds,
                first_seq=1_000_000,
            )
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    log = _common.log
    async with _common.temporary_database(args.database_url, SYSTEM) as url:
        admin = await asyncpg.connect(url)
        try:
            schema_app, _ = build_app(url, 1, ignore)
            async with schema_app.open_async():
                await schema_app.schema_manager.apply_schema_async()
            log(f"[{SYSTEM}] publish: {args.publish_count} x defer_async(), {args.producers} tasks")
            publish_per_s = await measure_publish(url, args)
            log(f"[{SYSTEM}]   {publish_per_s:,.0f}/s")
            await reset(admin)
            log(
                f"[{SYSTEM}] publish_many: {args.publish_many_count} in batch_defer_async() "
                f"batches of {args.batch_size}"
            )
            publish_many_per_s = await measure_publish_many(url, args)
            log(f"[{SYSTEM}]   {publish_many_per_s:,.0f}/s")
            log(
                f"[{SYSTEM}] consume: drain {args.consume_count} jobs, worker "
                f"concurrency={args.concurrency}, wait=False"
            )
            consume_per_s = await measure_consume(url, admin, args)
            log(f"[{SYSTEM}]   {consume_per_s:,.0f}/s")
            log(f"[{SYSTEM}] latency: {args.latency_rate:g}/s for {args.latency_seconds:g} s")
            latency = await measure_latency(url, admin, args)
            log(
                f"[{SYSTEM}]   p50 {latency.p50_ms:.2f} ms, p99 {latency.p99_ms:.2f} ms, "
                f"achieved {latency.achieved_rate:,.0f}/s, lost {latency.lost}"
            )
            server = str(await admin.fetchval("SHOW server_version"))
        finally:
            await admin.close()
    return {
        "system": SYSTEM,
        "version": version("procrastinate"),
        "server_version": server,
        **_common.figures(
            args,
            latency,
            publish_per_s=publish_per_s,
            publish_many_per_s=publish_many_per_s,
            consume_per_s=consume_per_s,
            worker_concurrency=args.concurrency,
            consumer="one worker, run_worker_async(wait=False), PsycopgConnector",
        ),
    }


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    # Warns that the App lives in __main__, which matters only to workers in other processes.
    logging.getLogger("procrastinate.blueprints").setLevel(logging.ERROR)
    args = _common.parse_args(__doc__.splitlines()[0], DEFAULTS, extra_arguments)

    async def run() -> None:
        _common.emit(await benchmark(args))

    _common.run(run, args.loop)


if __name__ == "__main__":
    main()
