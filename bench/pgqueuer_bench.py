"""Benchmark pgqueuer (asyncpg driver) on a throwaway database; print one JSON line.

    build/bench-env/bin/python bench/pgqueuer_bench.py --database-url postgresql://...

The workloads are described in `_common.py`. pgqueuer is driven the way its own
documentation and benchmark tool (`tools/benchmark.py` upstream) drive it for throughput:
producers share an asyncpg pool (`AsyncpgPoolDriver`); batched enqueue passes lists to
`Queries.enqueue`; the consumer is one `PgQueuer` on its own asyncpg connection
(`AsyncpgDriver`) with `batch_size=100` and, for the drain, `QueueExecutionMode.drain`;
tables are installed with `Queries.install()` (what `pgq install` runs) at the default
durability (`durable`: every table logged).
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
from pgqueuer import AsyncpgDriver, AsyncpgPoolDriver, PgQueuer, Queries
from pgqueuer.types import QueueExecutionMode

if TYPE_CHECKING:
    import argparse

    from pgqueuer.models import Job

SYSTEM = "pgqueuer"
ENTRYPOINT = "bench"
DEFAULTS = _common.Defaults(
    producers=16,
    publish_count=10_000,
    batch_size=1_000,
    publish_many_count=50_000,
    consume_count=20_000,
    latency_rate=500.0,
    latency_seconds=10.0,
)
TABLES = "pgqueuer, pgqueuer_log, pgqueuer_statistics"


def extra_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dequeue-batch-size", type=int, default=100, help="PgQueuer.run(batch_size=...)"
    )


async def reset(connection: asyncpg.Connection) -> None:
    """Empty the queue between phases, and refresh the planner's statistics."""
    await connection.execute(f"TRUNCATE {TABLES}")
    await connection.execute(f"ANALYZE {TABLES}")


async def enqueue_batches(queries: Queries, first_seq: int, count: int, batch_size: int) -> None:
    for start in range(first_seq, first_seq + count, batch_size):
        seqs = range(start, min(start + batch_size, first_seq + count))
        await queries.enqueue(
            [ENTRYPOINT] * len(seqs), [_common.payload(s) for s in seqs], [0] * len(seqs)
        )


async def measure_publish(url: str, args: argparse.Namespace) -> float:
    pool = await asyncpg.create_pool(url, min_size=args.producers, max_size=args.producers)
    try:
        queries = Queries(AsyncpgPoolDriver(pool))

        async def publish(seq: int) -> None:
            await queries.enqueue(ENTRYPOINT, _common.payload(seq))

        # Warm every pooled connection (prepared statements) before timing.
        await _common.concurrent_producers(
            args.producers, max(args.warmup, args.producers), publish
        )
        return await _common.concurrent_producers(
            args.producers, args.publish_count, publish, first_seq=1_000_000
        )
    finally:
        await pool.close()


async def measure_publish_many(url: str, args: argparse.Namespace) -> float:
    connection = await asyncpg.connect(url)
    try:
        queries = Queries(AsyncpgDriver(connection))
        await enqueue_batches(queries, 0, args.batch_size, args.batch_size)
        seconds = await _common.timed(
            enqueue_batches(queries, 2_000_000, args.publish_many_count, args.batch_size)
        )
        return _common.rate(args.publish_many_count, seconds)
    finally:
        await connection.close()


async def measure_consume(url: str, admin: asyncpg.Connection, args: argparse.Namespace) -> float:
    await reset(admin)
    await enqueue_batches(Queries(AsyncpgDriver(admin)), 0, args.consume_count, 1_000)
    await admin.execute(f"ANALYZE {TABLES}")
    connection = await asyncpg.connect(url)
    handled = 0
    try:
        pgq = PgQueuer(AsyncpgDriver(connection))

        async def noop(job: Job) -> None:
            nonlocal handled
            handled += 1

        pgq.entrypoint(ENTRYPOINT)(noop)
        start = time.perf_counter()
        await pgq.run(batch_size=args.dequeue_batch_size, mode=QueueExecutionMode.drain)
        seconds = time.perf_counter() - start
    finally:
        await connection.close()
    left = await admin.fetchval("SELECT count(*) FROM pgqueuer WHERE status = 'queued'")
    if handled != args.consume_count or left:
        raise RuntimeError(f"drained {handled} of {args.consume_count} jobs, {left} left queued")
    return _common.rate(args.consume_count, seconds)


async def measure_latency(
    url: str, admin: asyncpg.Connection, args: argparse.Namespace
) -> _common.LatencyResult:
    await reset(admin)
    probe = _common.LatencyProbe()
    consumer_connection = await asyncpg.connect(url)
    pool = await asyncpg.create_pool(url, min_size=4, max_size=16)
    pgq = PgQueuer(AsyncpgDriver(consumer_connection))

    async def handler(job: Job) -> None:
        probe.handled(_common.seq_of(job.payload))

    pgq.entrypoint(ENTRYPOINT)(handler)

    consumer = asyncio.create_task(pgq.run(batch_size=args.dequeue_batch_size))
    try:
        queries = Queries(AsyncpgPoolDriver(pool))

        async def publish(seq: int) -> None:
            await queries.enqueue(ENTRYPOINT, _common.payload(seq))

        await asyncio.sleep(0.5)  # the consumer is up, listening and idle
        warmup_seconds = args.warmup / args.latency_rate
        await _common.offered_load(
            publish, probe, rate_per_s=args.latency_rate, seconds=warmup_seconds, first_seq=0
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
        pgq.shutdown.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(consumer, 10)
        await pool.close()
        await consumer_connection.close()


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    async with _common.temporary_database(args.database_url, SYSTEM) as url:
        admin = await asyncpg.connect(url)
        try:
            await Queries(AsyncpgDriver(admin)).install()
            log = _common.log
            log(f"[{SYSTEM}] publish: {args.publish_count} x enqueue(), {args.producers} producers")
            publish_per_s = await measure_publish(url, args)
            log(f"[{SYSTEM}]   {publish_per_s:,.0f}/s")
            await reset(admin)
            log(
                f"[{SYSTEM}] publish_many: {args.publish_many_count} in enqueue() batches "
                f"of {args.batch_size}"
            )
            publish_many_per_s = await measure_publish_many(url, args)
            log(f"[{SYSTEM}]   {publish_many_per_s:,.0f}/s")
            log(
                f"[{SYSTEM}] consume: drain {args.consume_count} jobs, "
                f"batch_size={args.dequeue_batch_size}, drain mode"
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
        "version": version("pgqueuer"),
        "server_version": server,
        **_common.figures(
            args,
            latency,
            publish_per_s=publish_per_s,
            publish_many_per_s=publish_many_per_s,
            consume_per_s=consume_per_s,
            dequeue_batch_size=args.dequeue_batch_size,
            consumer="one PgQueuer, AsyncpgDriver, drain mode",
            durability="durable (default)",
        ),
    }


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    args = _common.parse_args(__doc__.splitlines()[0], DEFAULTS, extra_arguments)

    async def run() -> None:
        _common.emit(await benchmark(args))

    _common.run(run, args.loop)


if __name__ == "__main__":
    main()
