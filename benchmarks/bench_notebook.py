#!/usr/bin/env python3
"""Benchmark training sets as a notebook user meets them, on the demo project as `make dbt-build` leaves it
(a warm project: target/manifest.json current, the DuckDB offline store built). Side by side, in one run:

1. the first `get_training_set` call in a new Python process, for a 1,000-row spine (a sample of the demo's
   labels, read from Parquet): the whole process, and `FeatureStore.from_env()` + the call alone (goal: <= 3 s);
   with `--with-dbt-baseline`, the same with the macro compiled by dbt (warm partial parse) for comparison;
2. a 1M-row spine (the demo's labels sampled with replacement) through `get_training_set(..., as_pandas=True)`
   against the bare hand-written ASOF query (three ASOF LEFT JOINs, no TTL) from the same DataFrame to a
   DataFrame, alternating, `--repeats` times each (goal: median <= 1.5x);
3. `featurestore training-set` for the demo spine, as `make demo` runs it (goal: < 10 s).

The load average is printed next to every measurement: the machine is shared.

    .venv/bin/python benchmarks/bench_notebook.py --out /tmp/fs-bench-notebook.md

The Markdown report goes to stdout and `--out`; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1]
BIN_DIR = Path(sys.executable).parent
FEATURES = [
    "user_engagement:clicks_7d",
    "user_engagement:ctr_24h",
    "article_popularity:ctr_1h",
    "user_category_affinity:click_share_30d",
]
DEMO_SPINE = "main_training_sets.impression_click_labels"

FIRST_CALL = """
import json, sys, time
started = time.perf_counter()
import pandas as pd
spine = pd.read_parquet(sys.argv[1])
imported = time.perf_counter()
from featurestore.store import FeatureStore
store = FeatureStore.from_env()
if sys.argv[3] == "dbt":
    store.training_sets.compiler.renderer = None
frame = store.get_training_set(spine, json.loads(sys.argv[2]), spine_time="shown_at", as_pandas=True)
done = time.perf_counter()
assert len(frame) == len(spine)
print(json.dumps({"call": done - imported, "after_start": done - started,
                  "fallback": store.training_sets.compiler.last_fallback_reason}))
"""

HAND_ASOF = """
select
    spine.*,
    ue.clicks_7d, ue.ctr_24h, ap.ctr_1h, uca.click_share_30d
from spine
asof left join featurestore.main_features.user_engagement as ue
    on spine.user_id = ue.user_id and spine.shown_at >= ue.effective_at
asof left join featurestore.main_features.article_popularity as ap
    on spine.article_id = ap.article_id and spine.shown_at >= ap.effective_at
asof left join featurestore.main_features.user_category_affinity as uca
    on spine.user_id = uca.user_id and spine.category = uca.category and spine.shown_at >= uca.effective_at
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DBT_PROFILES_DIR", str(PROJECT_DIR / ".dbt"))
    return env


def timed(run: Callable[[], Any]) -> tuple[float, Any, str]:
    before = load()
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result, f"{before} -> {load()}"


def children_cpu() -> float:
    """CPU seconds (user + system) used so far by finished child processes: on a busy machine a command's
    wall time is mostly waiting for a core, its CPU time is what it needs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def first_call(spine_path: Path, mode: str) -> tuple[float, dict[str, Any], str]:
    def run() -> dict[str, Any]:
        completed = subprocess.run(
            [sys.executable, "-c", FIRST_CALL, str(spine_path), json.dumps(FEATURES), mode],
            cwd=PROJECT_DIR,
            env=environment(),
            capture_output=True,
            text=True,
            check=True,
        )
        result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
        return result

    return timed(run)


def cli_call(out: Path) -> tuple[float, None, str]:
    command = [
        str(BIN_DIR / "featurestore"), "training-set", "--spine", DEMO_SPINE, "--spine-time", "shown_at",
        "--features", ",".join(FEATURES), "--out", str(out),
    ]  # fmt: skip
    return timed(
        lambda: subprocess.run(command, cwd=PROJECT_DIR, env=environment(), capture_output=True, check=True) and None
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--spine-rows", type=int, default=1_000_000)
    parser.add_argument("--with-dbt-baseline", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    import duckdb

    os.environ.setdefault("DBT_PROFILES_DIR", str(PROJECT_DIR / ".dbt"))
    os.chdir(PROJECT_DIR)
    from featurestore.core.settings import Settings
    from featurestore.store import FeatureStore

    settings = Settings.from_env(PROJECT_DIR)
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as connection:
        labels = connection.sql(f"select * from {DEMO_SPINE}").df()
    work = Path(tempfile.mkdtemp(prefix="fs-bench-notebook-"))
    small_path = work / "spine_1000.parquet"
    labels.sample(n=1000, random_state=7).to_parquet(small_path, index=False)
    big = labels.sample(n=args.spine_rows, replace=True, random_state=7).reset_index(drop=True)
    rows: list[tuple[str, str, str, str]] = []

    log("1. first call in a new process, 1,000-row spine")
    modes = ["renderer"] * args.repeats + (["dbt"] if args.with_dbt_baseline else [])
    for attempt, mode in enumerate(modes):
        cpu = children_cpu()
        wall, result, during = first_call(small_path, mode)
        cpu = children_cpu() - cpu
        if mode == "renderer":
            assert result["fallback"] is None, result
        rows.append(
            (
                "first `get_training_set` in a new process, 1,000 rows"
                if mode == "renderer"
                else "same, macro compiled by dbt (warm partial parse), for comparison",
                f"{result['call']:.2f} s (from_env + call); {wall:.2f} s whole process ({cpu:.2f} s CPU)",
                during,
                f"run {attempt + 1}" if mode == "renderer" else "",
            )
        )

    log(f"2. {args.spine_rows:,}-row spine: get_training_set vs the hand-written ASOF query")
    store = FeatureStore.from_settings(settings)
    ours: list[float] = []
    hand: list[float] = []

    def hand_written() -> Any:
        with duckdb.connect() as connection:
            connection.execute(f"attach '{settings.duckdb_path}' as featurestore (read_only)")
            connection.register("spine", big)
            return connection.sql(HAND_ASOF).df()

    def training_set() -> Any:
        return store.get_training_set(big, FEATURES, spine_time="shown_at", as_pandas=True)

    loads = []
    for _ in range(args.repeats):
        seconds, frame, during = timed(training_set)
        assert len(frame) == len(big)
        ours.append(seconds)
        loads.append(during)
        seconds, frame, during = timed(hand_written)
        assert len(frame) == len(big)
        hand.append(seconds)
        loads.append(during)
    store.close()
    ratio = statistics.median(ours) / statistics.median(hand)
    rows.append(
        (
            f"`get_training_set`, {args.spine_rows:,} rows, DataFrame in and out",
            f"median {statistics.median(ours):.2f} s ({', '.join(f'{s:.2f}' for s in ours)})",
            "; ".join(loads[0::2]),
            f"{ratio:.2f}x the hand-written ASOF",
        )
    )
    rows.append(
        (
            f"hand-written ASOF query (3 joins, no TTL), {args.spine_rows:,} rows, DataFrame in and out",
            f"median {statistics.median(hand):.2f} s ({', '.join(f'{s:.2f}' for s in hand)})",
            "; ".join(loads[1::2]),
            "",
        )
    )

    log("3. featurestore training-set for the demo spine")
    for attempt in range(args.repeats):
        cpu = children_cpu()
        seconds, _, during = cli_call(work / "training_set.parquet")
        cpu = children_cpu() - cpu
        rows.append(
            (
                f"`featurestore training-set`, demo spine ({len(labels):,} rows)",
                f"{seconds:.2f} s ({cpu:.2f} s CPU)",
                during,
                f"run {attempt + 1}",
            )
        )

    import duckdb as duckdb_module

    lines = [
        f"Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
        f"DuckDB {duckdb_module.__version__}; command: `{shlex.join([Path(sys.executable).name, *sys.argv])}`",
        "",
        "| measure | time | load average (1/5/15 min) before -> after | note |",
        "| --- | --- | --- | --- |",
        *(f"| {measure} | {value} | {during} | {note} |" for measure, value, during, note in rows),
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.write_text(report)


if __name__ == "__main__":
    main()
