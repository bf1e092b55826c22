"""The ceiling of a Redis Streams queue on this machine: bare redis-py, no store; one JSON line.

    build/bench-env/bin/python bench/redis_raw_bench.py --database-url postgresql://... \
        --redis-url redis://127.0.0.1:6379/0

What the Redis store could reach at best, measured in the same run as the store: the same
four workloads (`_common.py`) done with nothing but Redis Streams commands through redis-py
(the version and the hiredis parser the generated project locks), one stream and one
consumer group:

- publish: one XADD per event from concurrent producers;
- publish_many: XADDs pipelined `batch_size` at a time (no MULTI);
- consume: XREADGROUP of 100 entries, a no-op handler for each, one XACK for the batch;
- latency: XADD at the offered rate to a consumer blocked in XREADGROUP.

No history is written anywhere, nothing is fenced, retried or ordered per conversation: the
store does all of that on top. `--database-url` is taken for a uniform command line, unused.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from importlib.metadata import version
from typing import TYPE_CHECKING, Any, cast

import _common
from redis.asyncio import Redis

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

SYSTEM = "redis_raw"
GROUP = "bench"
READ_COUNT = 100
DEFAULTS = _common.Defaults(
    producers=16,
    publish_count=10_000,
    batch_size=1_000,
    publish_many_count=50_000,
    consume_count=20_000,
    latency_rate=500.0,
    latency_seconds=10.0,
)


def extra_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="the Redis server (default: REDIS_URL, else the one on localhost)",
    )


async def fresh(client: Redis, stream: str) -> None:
    """An empty stream with the consumer group at its start."""
    await client.delete(stream)
    await client.xgroup_create(stream, GROUP, id="0", mkstream=True)


async def add_batches(client: Redis, stream: str, first_seq: int, count: int, size: int) -> None:
    for start in range(first_seq, first_seq + count, size):
        async with client.pipeline(transaction=False) as pipe:
            for seq in range(start, min(start + size, first_seq + count)):
                pipe.xadd(stream, {"p": _common.payload(seq)})
            await pipe.execute()


async def consume(
    client: Redis, stream: str, handle: Callable[[int], None], stop: asyncio.Event, block: int
) -> int:
    """Read, handle and acknowledge batches until `stop` is set; how many were handled."""
    handled = 0
    while not stop.is_set():
        reply = await client.xreadgroup(GROUP, "c", {stream: ">"}, count=READ_COUNT, block=block)
        if not reply:
            continue
        # RESP2, bytes: [[stream, [(entry id, {field: value}), ...]]]
        streams = cast("list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]]", reply)
        entries = streams[0][1]
        for _, fields in entries:
            handle(_common.seq_of(fields[b"p"]))
        await client.xack(stream, GROUP, *(entry_id for entry_id, _ in entries))
        handled += len(entries)
    return handled


async def measure_consume(client: Redis, stream: str, args: argparse.Namespace) -> float:
    await fresh(client, stream)
    await add_batches(client, stream, 0, args.consume_count, args.batch_size)
    stop = asyncio.Event()
    seen = 0

    def handle(_: int) -> None:
        nonlocal seen
        seen += 1
        if seen >= args.consume_count:
            stop.set()

    seconds = await _common.timed(consume(client, stream, handle, stop, block=100))
    return _common.rate(args.consume_count, seconds)


async def measure_latency(
    client: Redis, stream: str, args: argparse.Namespace
) -> _common.LatencyResult:
    await fresh(client, stream)
    probe = _common.LatencyProbe()
    stop = asyncio.Event()
    reader = Redis.from_url(args.redis_url)  # its own connection: it blocks in XREADGROUP
    consumer = asyncio.create_task(consume(reader, stream, probe.handled, stop, block=100))
    try:

        async def publish(seq: int) -> None:
            await client.xadd(stream, {"p": _common.payload(seq)})

        warm = range(1_000_000, 1_000_000 + args.warmup)
        probe.expect(warm)
        for seq in warm:
            await publish(seq)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(probe.done.wait(), 10)
        return await _common.offered_load(
            publish,
            probe,
            rate_per_s=args.latency_rate,
            seconds=args.latency_seconds,
            first_seq=0,
        )
    finally:
        stop.set()
        await consumer
        await reader.aclose()


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    client = Redis.from_url(args.redis_url, max_connections=args.producers + 4)
    stream = f"bench-raw-{secrets.token_hex(4)}"
    log = _common.log
    try:
        await fresh(client, stream)
        log(f"[{SYSTEM}] publish: {args.publish_count} XADDs, {args.producers} producers")

        async def publish(seq: int) -> None:
            await client.xadd(stream, {"p": _common.payload(seq)})

        publish_per_s = await _common.concurrent_producers(
            args.producers, args.publish_count, publish
        )
        log(f"[{SYSTEM}]   {publish_per_s:,.0f}/s")
        log(f"[{SYSTEM}] publish_many: {args.publish_many_count} in pipelines of {args.batch_size}")
        await fresh(client, stream)
        many = add_batches(client, stream, 0, args.publish_many_count, args.batch_size)
        publish_many_per_s = _common.rate(args.publish_many_count, await _common.timed(many))
        log(f"[{SYSTEM}]   {publish_many_per_s:,.0f}/s")
        log(f"[{SYSTEM}] consume: drain {args.consume_count}, XREADGROUP {READ_COUNT} + XACK")
        consume_per_s = await measure_consume(client, stream, args)
        log(f"[{SYSTEM}]   {consume_per_s:,.0f}/s")
        log(f"[{SYSTEM}] latency: {args.latency_rate:g}/s for {args.latency_seconds:g} s")
        latency = await measure_latency(client, stream, args)
        log(f"[{SYSTEM}]   p50 {latency.p50_ms:.2f} ms, p99 {latency.p99_ms:.2f} ms")
        info = await client.info("server")
    finally:
        await client.delete(stream)
        await client.aclose()
    return {
        "system": SYSTEM,
        "version": version("redis"),
        "redis_version": info.get("redis_version"),
        **_common.figures(
            args,
            latency,
            publish_per_s=publish_per_s,
            publish_many_per_s=publish_many_per_s,
            consume_per_s=consume_per_s,
            read_count=READ_COUNT,
        ),
    }


def main() -> None:
    args = _common.parse_args(__doc__.splitlines()[0], DEFAULTS, extra_arguments)

    async def run() -> None:
        _common.emit(await benchmark(args))

    _common.run(run, args.loop)


if __name__ == "__main__":
    main()
