#!/usr/bin/env python3
"""Benchmark the online store against dynalite on loopback (and the sqlite backend), all in one run.

1. Builds a DuckDB offline store with a feature group of `--entities` entities (one row each) and two
   smaller groups, and starts dynalite (node_modules/.bin/dynalite, in memory) on a free loopback port.
2. Writes the same items three ways, each into a fresh table:
   (a) a single-threaded boto3 `batch_writer()` loop (no newest-wins guarantee);
   (b) concurrent raw BatchWriteItem calls, 25 items each (the practical limit, no guarantee either);
   (c) `featurestore` sync, full load, in both DynamoDB write modes: `conditional` (PutItem per item with
       the newest-wins condition, from a thread pool) and `batch` (a keys-only read of the stored
       versions, then BatchWriteItem, under a per-group lease). The default mode, `auto`, is `batch` for full
       loads and `conditional` for changes: its numbers are those rows.
3. Changes 1% of the entities offline and times the second (incremental) sync, in both modes.
4. Times get_online_features for 1 entity (one group) and for 100 entities across 3 groups, against the
   same BatchGetItem calls made directly with boto3 (concurrently, one per group), and the sqlite backend
   for 1 entity.

    .venv/bin/python benchmarks/bench_online.py --entities 100000 --out docs/benchmarks_online.md

The Markdown report goes to stdout and to `--out`; progress goes to stderr. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import duckdb
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config

from featurestore.core.contract import Feature, FeatureGroup, parse_ttl
from featurestore.core.keys import encode_key
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.offline.duckdb import DuckDBOfflineStore
from featurestore.online.dynamodb import DynamoDBOnlineStore
from featurestore.online.dynamodb.codec import KEY
from featurestore.online.sqlite import SqliteOnlineStore
from featurestore.online.sync import records_from_rows, sync_group
from featurestore.store import FeatureStore

ROOT = Path(__file__).resolve().parents[1]
DYNALITE = ROOT / "node_modules" / ".bin" / "dynalite"
FEATURES = {
    "count_1h": "bigint",
    "count_24h": "bigint",
    "ratio_24h": "double",
    "label": "varchar",
    "seen_at": "timestamp",
}
BASE = dt.datetime(2026, 10, 1)
# The syncs' time: after every row (all of them valid), whatever the machine's clock says.
NOW = BASE + dt.timedelta(days=30)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def group_spec(name: str) -> FeatureGroup:
    return FeatureGroup(
        name=name,
        unique_id=f"model.bench.{name}",
        relation_name=f"main.{name}",
        description="",
        entity=("entity_id",),
        event_time="effective_at",
        online=True,
        ttl=parse_ttl("3650d"),
        ttl_text="3650d",
        owner="bench",
        tags=(),
        features=tuple(Feature(n, t, n) for n, t in FEATURES.items()),
        entity_types=("bigint",),
    )


def build_offline(path: Path, sizes: dict[str, int]) -> None:
    with duckdb.connect(str(path)) as connection:
        for name, size in sizes.items():
            connection.execute(
                f"create table {name} as select i as entity_id, "
                f"timestamp '{BASE}' + to_seconds(i % 86400) as effective_at, "
                "i % 97 as count_1h, i % 1013 as count_24h, (i % 1013) / 1013.0 as ratio_24h, "
                "'label-' || (i % 50) as label, timestamp '2026-10-01' + to_seconds(i) as seen_at, "
                f"timestamp '2026-11-01 00:00:00' as computed_at from range({size}) as t(i)"
            )


def change_one_percent(path: Path, name: str, size: int) -> int:
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            f"update {name} set effective_at = effective_at + interval 1 day, count_1h = count_1h + 1, "
            "computed_at = timestamp '2026-11-01 00:05:00' where entity_id % 100 = 7"
        )
    return len(range(7, size, 100))


def change_all(path: Path, name: str) -> None:
    """A backfill that changed every entity's values (a new row per entity, later event time)."""
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            f"insert into {name} select entity_id, effective_at + interval 2 day, count_1h + 2, count_24h, "
            f"ratio_24h, label, seen_at, timestamp '2026-11-01 00:10:00' from {name}"
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_dynalite() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            str(DYNALITE),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--createTableMs",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    return process, f"http://127.0.0.1:{port}"


def client(endpoint: str, pool: int) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=pool,
        ),
    )


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(call: Callable[[], Any], repeat: int) -> list[float]:
    call()  # warm up connections and caches
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def timed_pair(first: Callable[[], Any], second: Callable[[], Any], repeat: int) -> tuple[list[float], list[float]]:
    """Both calls `repeat` times, interleaved (in alternating order), so that both see the same moments
    of a shared machine: a burst of other work lands on both sides, not on one."""
    first()
    second()
    samples: tuple[list[float], list[float]] = ([], [])
    for index in range(repeat):
        order = ((0, first), (1, second)) if index % 2 == 0 else ((1, second), (0, first))
        for side, call in order:
            started = time.perf_counter()
            call()
            samples[side].append((time.perf_counter() - started) * 1000)
    return samples


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=8, help="threads for (b) and for the sync")
    parser.add_argument("--repeat", type=int, default=1000, help="lookups per latency measure")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-online-"))
    offline_path = work / "offline.duckdb"
    sizes = {"fg_main": args.entities, "fg_b": 1000, "fg_c": 1000}
    build_offline(offline_path, sizes)
    groups = {name: group_spec(name) for name in sizes}
    reader = DuckDBOfflineStore(offline_path)
    main_group = groups["fg_main"]
    records, _ = records_from_rows(main_group, reader.latest_changed_rows(main_group, None, NOW))
    log(f"offline store ready: {len(records):,} entities in fg_main")
    process, endpoint = start_dynalite()
    results: dict[str, Any] = {}
    try:
        raw = client(endpoint, args.concurrency + 4)
        encoder = DynamoDBOnlineStore(raw, table_prefix="enc_")
        items = [encoder.item(main_group, record) for record in records]

        # (a) single-threaded batch_writer over the same items (boto3's resource layer takes Python values).
        deserializer = TypeDeserializer()
        python_items = [{k: deserializer.deserialize(v) for k, v in item.items()} for item in items]
        store_a = DynamoDBOnlineStore(raw, table_prefix="a_")
        store_a.ensure_table(store_a.table_name("fg_main"))
        table = boto3.resource(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        ).Table(store_a.table_name("fg_main"))
        log("(a) batch_writer ...")
        started = time.perf_counter()
        with table.batch_writer() as writer:
            for item in python_items:
                writer.put_item(Item=item)
        results["a"] = len(items) / (time.perf_counter() - started)

        # (b) concurrent raw BatchWriteItem, 25 items per call, unprocessed items resent. Measured again
        # (into a new table) right before each of our full loads, which is compared with the (b) next to it:
        # on a shared machine the speed drifts over the minutes the whole run takes.
        def raw_batch_write_rate(prefix: str, populated: bool = False) -> float:
            """(b) into a new table; `populated`: over the same items written once before (not timed), as
            a sync over a populated table overwrites items."""
            store_b = DynamoDBOnlineStore(raw, table_prefix=prefix)
            table_b = store_b.table_name("fg_main")
            store_b.ensure_table(table_b)

            def batch_write(chunk: list[dict[str, Any]]) -> None:
                request = {table_b: [{"PutRequest": {"Item": item}} for item in chunk]}
                while request:
                    request = raw.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

            chunks = [items[i : i + 25] for i in range(0, len(items), 25)]
            if populated:
                with ThreadPoolExecutor(args.concurrency) as executor:
                    list(executor.map(batch_write, chunks))
            log(f"(b) concurrent BatchWriteItem into {table_b} ...")
            started = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as executor:
                list(executor.map(batch_write, chunks))
            return len(items) / (time.perf_counter() - started)

        results["b"] = raw_batch_write_rate("b_")

        # (c) our sync in both write modes: full load, then 1% changed.
        store_c = DynamoDBOnlineStore(
            raw, table_prefix="c_", write_concurrency=args.concurrency, write_mode="conditional"
        )
        store_d = DynamoDBOnlineStore(
            raw,
            table_prefix="d_",
            write_concurrency=args.concurrency,
            write_mode="batch",
        )
        # The default mode: `batch` for full loads, `conditional` for changes, under the lease.
        store_e = DynamoDBOnlineStore(raw, table_prefix="e_", write_concurrency=args.concurrency, write_mode="auto")
        for store in (store_c, store_d, store_e):
            store.ensure_table(store.table_name("fg_main"))
            store.get_marker("fg_main")  # creates the markers table outside the timing
        log("(c) featurestore sync, conditional, full load ...")
        results["full"] = sync_group(main_group, reader, store_c, now=NOW)
        results["b_before_batch"] = raw_batch_write_rate("b2_")
        log("(c) featurestore sync, batch, full load ...")
        results["full_batch"] = sync_group(main_group, reader, store_d, now=NOW)
        results["b_before_auto"] = raw_batch_write_rate("b3_")
        log("(c) featurestore sync, auto, full load ...")
        results["full_auto"] = sync_group(main_group, reader, store_e, now=NOW)
        changed = change_one_percent(offline_path, "fg_main", args.entities)
        log("(c) featurestore sync, 1% changed ...")
        results["incremental"] = sync_group(main_group, reader, store_c, now=NOW)
        results["incremental_batch"] = sync_group(main_group, reader, store_d, now=NOW)
        results["incremental_auto"] = sync_group(main_group, reader, store_e, now=NOW)
        results["changed"] = changed
        # `sync --full` over a populated table: after a backfill that changed every entity, then again with
        # nothing changed (what a reconcile costs). Batch mode only: conditional writes do not depend on it.
        change_all(offline_path, "fg_main")
        results["b_before_backfill"] = raw_batch_write_rate("b4_", populated=True)
        log("(c) featurestore sync --full, batch, every entity changed ...")
        results["backfill_batch"] = sync_group(main_group, reader, store_d, now=NOW, full=True)
        log("(c) featurestore sync --full, batch, nothing changed ...")
        results["reconcile_batch"] = sync_group(main_group, reader, store_d, now=NOW, full=True)
        for name in ("fg_b", "fg_c"):
            sync_group(groups[name], reader, store_c, now=NOW)

        # Latency: FeatureStore vs raw BatchGetItem for the same keys and projection.
        catalog = FeatureGroupCatalog(groups)
        feature_store = FeatureStore(catalog, store_c)
        wanted = ["count_1h", "ratio_24h", "label"]
        one = [{"entity_id": 12345 % args.entities}]
        hundred = [{"entity_id": i * 7} for i in range(100)]
        three_groups = [f"{g}:{f}" for g in sizes for f in wanted]
        names = {
            "#k": KEY,
            "#t": "_event_time",
            "#x": "_expires_at",
            **{f"#f{i}": f for i, f in enumerate(wanted)},
        }
        projection = ", ".join(names)

        def raw_get(table_name: str, rows: list[dict[str, int]]) -> Any:
            keys = [{KEY: {"S": encode_key([row["entity_id"]])}} for row in rows]
            request = {
                table_name: {
                    "Keys": keys,
                    "ProjectionExpression": projection,
                    "ExpressionAttributeNames": names,
                }
            }
            while request:
                request = raw.batch_get_item(RequestItems=request).get("UnprocessedKeys") or {}

        raw_pool = ThreadPoolExecutor(8)
        log("latency ...")
        results["ours_1"], results["raw_1"] = timed_pair(
            lambda: feature_store.get_online_features(three_groups[:3], one),
            lambda: raw_get("c_fg_main", one),
            args.repeat,
        )
        results["ours_100"], results["raw_100"] = timed_pair(
            lambda: feature_store.get_online_features(three_groups, hundred),
            lambda: list(raw_pool.map(lambda g: raw_get(f"c_{g}", hundred), list(sizes))),
            args.repeat,
        )
        raw_pool.shutdown()

        sqlite_store = SqliteOnlineStore(work / "online.sqlite")
        sync_group(main_group, reader, sqlite_store, now=NOW)
        sqlite_features = FeatureStore(catalog, sqlite_store)
        results["sqlite_1"] = timed(
            lambda: sqlite_features.get_online_features(three_groups[:3], one),
            max(args.repeat, 2000),
        )
        feature_store.close()
        sqlite_features.close()
    finally:
        process.terminate()
        process.wait()
    report = render(args, results, " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))
    print(report)
    if args.out:
        args.out.write_text(report)
    return 0


def render(args: argparse.Namespace, r: dict[str, Any], command: str) -> str:
    full, incremental = r["full"], r["incremental"]
    full_batch, incremental_batch = r["full_batch"], r["incremental_batch"]
    full_auto, incremental_auto = r["full_auto"], r["incremental_auto"]
    backfill, reconcile = r["backfill_batch"], r["reconcile_batch"]
    ours = full.items_written / full.seconds
    ours_batch = full_batch.items_written / full_batch.seconds
    ours_backfill = backfill.items_written / backfill.seconds
    ours_auto = full_auto.items_written / full_auto.seconds
    load = os.getloadavg()

    def lat(key: str) -> str:
        return f"{statistics.median(r[key]):.2f} / {percentile(r[key], 0.99):.2f}"

    p99_1 = percentile(r["ours_1"], 0.99) / percentile(r["raw_1"], 0.99)
    p99_100 = percentile(r["ours_100"], 0.99) / percentile(r["raw_100"], 0.99)
    sqlite_p99 = percentile(r["sqlite_1"], 0.99)
    threads = args.concurrency

    def throughput_row(mode: str, rate: float, summary: Any, b: float) -> str:
        written = f"{summary.items_written:,} written in {summary.seconds:.1f} s"
        return f"| {mode} | {b:,.0f} | **{rate / b:.2f}x** | **{rate / r['a']:.2f}x** | {written} |"

    def changed_row(mode: str, s: Any) -> str:
        return (
            f"| {mode} | {s.rows_read:,} | {s.items_written:,} | {s.skipped_stale:,} | {s.items_deleted:,} "
            f"| {s.write_units:,.0f} | {s.read_units:,.0f} | {s.seconds:.2f} |"
        )

    return f"""# Online store benchmark

- date: {dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
- machine: {platform.platform()}, {os.cpu_count()} cores shared with other jobs; load average at the end
  {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min)
- command: `{command}`
- DynamoDB: dynalite 4.0.0 (in memory) on 127.0.0.1; {args.concurrency} threads for (b) and the sync

## Sync throughput, {args.entities:,} entities (one item each)

| writer | items/s | newest-wins |
| --- | ---: | --- |
| (a) boto3 `batch_writer`, one thread | {r["a"]:,.0f} | no |
| (b) raw BatchWriteItem, {args.concurrency} threads, 25 items/call | {r["b"]:,.0f} | no |
| featurestore sync, `conditional` mode (PutItem per item, {threads} threads) | {ours:,.0f} | yes, by DynamoDB |
| featurestore sync, `batch` mode (scan versions, BatchWriteItem; {threads} threads) | {ours_batch:,.0f} | leased |
| featurestore sync, `auto` mode (the default: full loads as `batch`) | {ours_auto:,.0f} | leased |
| featurestore sync --full, `batch`, populated table, every entity changed | {ours_backfill:,.0f} | leased |

The sync's times include reading the offline store (DuckDB) and building the items.

Each sync is compared with the (b) measured right before it (column "(b) next to it"; for the populated
table, (b) too overwrites items it wrote once before):

| sync | (b) next to it, items/s | ratio to (b) (goal >= 0.7x) | ratio to (a) (goal > 1x) | items |
| --- | ---: | ---: | ---: | --- |
{throughput_row("conditional, full load, new table", ours, full, r["b"])}
{throughput_row("batch, full load, new table", ours_batch, full_batch, r["b_before_batch"])}
{throughput_row("auto (default), full load, new table", ours_auto, full_auto, r["b_before_auto"])}
{throughput_row("batch, `--full` over a populated table", ours_backfill, backfill, r["b_before_backfill"])}

Later syncs (write and read units as DynamoDB reports them; dynalite reports them like DynamoDB):

| sync | rows read | items written | skipped | deleted | write units | read units | seconds |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
{changed_row(f"conditional, {r['changed']:,} entities (1%) changed", incremental)}
{changed_row(f"batch, {r['changed']:,} entities (1%) changed", incremental_batch)}
{changed_row(f"auto (default), {r['changed']:,} entities (1%) changed", incremental_auto)}
{changed_row("batch, `--full`, every entity changed", backfill)}
{changed_row("batch, `--full`, nothing changed", reconcile)}

## Lookup latency (ms, p50 / p99, {args.repeat} lookups each, ours and raw interleaved)

| lookup | get_online_features | raw boto3 BatchGetItem | p99 ratio (goal <= 1.3) |
| --- | ---: | ---: | ---: |
| 1 entity, 3 features, 1 group | {lat("ours_1")} | {lat("raw_1")} | {p99_1:.2f} |
| 100 entities, 3 features from each of 3 groups | {lat("ours_100")} | {lat("raw_100")} | {p99_100:.2f} |
| sqlite backend, 1 entity, 3 features ({len(r["sqlite_1"])} lookups) | {lat("sqlite_1")} | | goal p99 < 1 ms |

sqlite single-entity p99: **{sqlite_p99:.3f} ms**.
"""


if __name__ == "__main__":
    raise SystemExit(main())
