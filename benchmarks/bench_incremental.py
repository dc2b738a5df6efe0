#!/usr/bin/env python3
"""Benchmark the feature groups on the local target: full refresh, 5-minute micro-batches, range backfill.

For each history size (raw impressions + reactions) the script

1. generates seeded demo data of about that many events (users scaled, ~30 days so the 7-day and 30-day
   windows are full), reusing earlier output when the generator and its config are unchanged;
2. builds the feature groups from an empty DuckDB file (`dbt run --select +path:models/feature_groups
   --full-refresh`) and reports events per second;
3. appends `--batches` micro-batches of `--batch-minutes` of new events right after the data's newest event
   and times the micro-batch `dbt run --select config.materialized:incremental` (the incremental staging
   tables, then the feature groups) after each (median reported), after `--warmup-batches` untimed ones
   so that every size is measured at steady state, not on the first runs after a full refresh;
4. times dbt's own start-up (a run that selects nothing) so the incremental time can be read net of it;
5. optionally (`--with-backfill`) times a range backfill of the last `--backfill-days` days.

Run from the repository root with the project's virtualenv:

    .venv/bin/python benchmarks/bench_incremental.py --sizes 1M,10M,50M --work-dir /tmp/fs-bench

The Markdown report (machine, command, date, tables) goes to stdout and to `--out`; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

import featurestore.demo
from featurestore.demo import DemoDataConfig, generate_demo_data

sys.path.insert(0, str(Path(__file__).resolve().parent))
from legacy_project import overlay_functions, overlay_legacy

PROJECT_DIR = Path(__file__).resolve().parents[1]
FEATURE_GROUPS = "path:models/feature_groups"
# What a scheduled micro-batch runs: the incremental staging tables and the feature groups they feed.
MICRO_BATCH = "config.materialized:incremental"
STAGING_TABLES = ("stg_news__impressions", "stg_news__reactions")
# Raw events (impressions + reactions, dirty rows included) per user per day with the generator's default
# rates, measured on 30-day histories (67.1M events for 200k users; 3.1M for 20k users over 14 days).
# Only used to pick the number of users; the report shows the events actually generated.
EVENTS_PER_USER_DAY = 11.2
# Micro-batch files get their own name so a rerun can remove exactly them and keep the generated data.
BATCH_FILE_PREFIX = "part-microbatch-"
DATA_MARKER = ".bench-config.json"


# --------------------------------------------------------------------------------------------------
# Command line


def parse_size(text: str) -> int:
    """'200k', '1M', '1.5M', '50000000' -> events."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (use e.g. 200k, 1M, 50M)")
    factor = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    events = round(float(match.group(1)) * factor)
    if events < 10_000:
        raise argparse.ArgumentTypeError(f"size {text!r} is too small to be meaningful (< 10k events)")
    return events


def parse_sizes(text: str) -> list[int]:
    sizes = sorted({parse_size(part) for part in text.split(",") if part.strip()})
    if not sizes:
        raise argparse.ArgumentTypeError("no sizes given")
    return sizes


def size_label(events: int) -> str:
    if events % 1_000_000 == 0:
        return f"{events // 1_000_000}M"
    if events >= 1_000_000:
        return f"{events / 1_000_000:g}M"
    return f"{events / 1_000:g}k"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("1M,10M,50M"), help="history sizes (events)")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/fs-bench"), help="data, projects, databases")
    parser.add_argument("--out", type=Path, default=None, help="Markdown report file (default: WORK_DIR/results.md)")
    parser.add_argument(
        "--keep", action="store_true", help="keep each size's DuckDB file and dbt logs (generated data is always kept)"
    )
    # A feature store's history grows by time passing, not by users appearing: by default the sizes are
    # reached with a fixed population and longer histories, which is what "flat as history grows" means.
    parser.add_argument("--users", type=int, default=3000, help="users (days of history scale with the size)")
    parser.add_argument(
        "--variants",
        type=lambda text: [v.strip() for v in text.split(",") if v.strip()],
        default=["declarative"],
        help="comma-separated: declarative (this checkout's groups), legacy (the hand-written groups they "
        "replaced, benchmarks/legacy/), functions (one group per function: sum, min, max, count_distinct)",
    )
    parser.add_argument(
        "--days", type=int, default=None, help="fix the days of history instead, and scale users with the size"
    )
    parser.add_argument("--start", type=datetime.date.fromisoformat, default=datetime.date(2026, 10, 1))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batches", type=int, default=3, help="timed incremental micro-batches per size")
    parser.add_argument(
        "--warmup-batches", type=int, default=2, help="untimed micro-batches before the timed ones (steady state)"
    )
    parser.add_argument("--batch-minutes", type=int, default=5, help="event time covered by one micro-batch")
    parser.add_argument("--startup-runs", type=int, default=3, help="no-op dbt runs to time dbt start-up")
    parser.add_argument(
        "--with-backfill", action="store_true", help="also time a range backfill (needs the backfill_* vars)"
    )
    parser.add_argument("--backfill-days", type=int, default=30, help="length of the backfilled range")
    return parser


# --------------------------------------------------------------------------------------------------
# Data


@dataclasses.dataclass(frozen=True)
class History:
    config: DemoDataConfig
    raw_dir: Path
    rows: dict[str, int]
    generated_seconds: float | None  # None: reused from an earlier run

    @property
    def events(self) -> int:
        return self.rows["impressions"] + self.rows["reactions"]


def _generator_fingerprint() -> str:
    # Regenerate when the generator's code changes, not only its config: the data would differ.
    digest = hashlib.sha256()
    for path in sorted(Path(featurestore.demo.__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _config_key(config: DemoDataConfig) -> dict[str, object]:
    return {name: str(value) for name, value in dataclasses.asdict(config).items()}


def prepare_history(config: DemoDataConfig, raw_dir: Path) -> History:
    marker = raw_dir / DATA_MARKER
    key = {"config": _config_key(config), "generator": _generator_fingerprint()}
    if marker.exists():
        saved = json.loads(marker.read_text())
        if saved.get("key") == key:
            # Micro-batches of an earlier run would change the history; generated files stay.
            for stale in raw_dir.glob(f"*/dt=*/{BATCH_FILE_PREFIX}*.parquet"):
                stale.unlink()
            log(f"  reusing {raw_dir} ({saved['rows']['impressions'] + saved['rows']['reactions']:,} events)")
            return History(config, raw_dir, saved["rows"], None)
        marker.unlink()

    log(f"  generating {config.users:,} users x {config.days} days into {raw_dir} ...")

    def progress(done: int, total: int) -> None:
        if done % 10 == 0 or done == total:
            log(f"    day {done}/{total}")

    summary = generate_demo_data(config, raw_dir, progress=progress)
    # Written last, so an interrupted generation is never mistaken for a complete one.
    marker.write_text(json.dumps({"key": key, "rows": summary.rows}, indent=2))
    log(f"  generated {summary.rows['impressions'] + summary.rows['reactions']:,} events in {summary.seconds:.1f} s")
    return History(config, raw_dir, summary.rows, summary.seconds)


@dataclasses.dataclass(frozen=True)
class BatchTemplate:
    newest_event: datetime.datetime
    impressions: int
    reactions: int

    @property
    def events(self) -> int:
        return self.impressions + self.reactions


class MicroBatcher:
    """Appends micro-batches of new events after the newest one, copied from the history's last minutes.

    Batch k holds the events of the last `minutes` before the newest event, shifted forward by k x
    `minutes` plus the gap to the history's newest ingestion, with ids suffixed so they are new events rather
    than duplicates: the generator's late arrivals are ingested days after its newest event, and a real batch
    is ingested after everything already landed (the staging models read from the newest ingestion on).
    Only rows delivered with the normal pipeline latency (0-10 minutes) are copied: late and clock-skewed
    rows would land hours or days away from the batch. A reaction to an impression of the copied window points at the
    copy of that impression; a reaction to an older impression keeps pointing at the original, which
    is what a real stream of reactions to recent impressions looks like.
    """

    def __init__(self, raw_dir: Path, minutes: int) -> None:
        self.raw_dir = raw_dir
        self.minutes = minutes
        self.connection = duckdb.connect()
        # Read only the generated files: earlier batches of this run must not feed the template.
        imp = self._glob("impressions")
        rx = self._glob("reactions")
        # Clock-skewed rows carry event times up to days ahead of their ingestion: not "the newest event".
        newest = self.connection.execute(
            f"select max(shown_at) from {imp} where shown_at <= ingested_at + interval 1 minute"
        ).fetchone()
        if newest is None or newest[0] is None:
            raise RuntimeError(f"no impressions under {raw_dir}")
        self.newest: datetime.datetime = newest[0]
        ingested = self.connection.execute(f"select max(ingested_at) from {imp}").fetchone()
        last_ingested = max(self.newest, ingested[0] if ingested and ingested[0] else self.newest)
        # Whole batch lengths, so that batches stay on the 5-minute grain of the template.
        step = datetime.timedelta(minutes=minutes)
        self.gap = -((self.newest - last_ingested) // step) * step
        window = f"interval {minutes} minute"
        self.connection.execute(
            f"""
            create temp table template_impressions as
            select * from {imp}
            where shown_at > $newest - {window} and shown_at <= $newest
              and ingested_at between shown_at and shown_at + interval 10 minute
            """,
            {"newest": self.newest},
        )
        self.connection.execute(
            f"""
            create temp table template_reactions as
            select
                rx.*,
                rx.impression_id in (select impression_id from template_impressions) as impression_copied
            from {rx} as rx
            where rx.reacted_at > $newest - {window} and rx.reacted_at <= $newest
              and rx.ingested_at between rx.reacted_at and rx.reacted_at + interval 10 minute
            """,
            {"newest": self.newest},
        )

    def _glob(self, table: str) -> str:
        files = sorted(
            str(path)
            for path in (self.raw_dir / table).glob("dt=*/*.parquet")
            if not path.name.startswith(BATCH_FILE_PREFIX)
        )
        # Explicit list, no hive partitioning: `dt` is not a column of the files we copy.
        return f"read_parquet({files!r}, hive_partitioning = false)"

    def template(self) -> BatchTemplate:
        counts = [
            self.connection.execute(f"select count(*) from {name}").fetchone()
            for name in ("template_impressions", "template_reactions")
        ]
        # Batches start after the gap: that is where the new events begin.
        return BatchTemplate(self.newest + self.gap, *(row[0] if row else 0 for row in counts))

    def append(self, k: int) -> None:
        shift = f"interval {k * self.minutes + int(self.gap.total_seconds()) // 60} minute"
        suffix = f"-b{k}"
        # The ingestion-date partition of the batch: where an ingestion pipeline would put it.
        dt = (self.newest + self.gap + datetime.timedelta(minutes=k * self.minutes)).date().isoformat()
        target = {}
        for table in ("impressions", "reactions"):
            folder = self.raw_dir / table / f"dt={dt}"
            folder.mkdir(parents=True, exist_ok=True)
            target[table] = folder / f"{BATCH_FILE_PREFIX}{k}.parquet"
        self.connection.execute(
            f"""
            copy (
                select
                    impression_id || '{suffix}' as impression_id, user_id, article_id,
                    shown_at + {shift} as shown_at, "position", surface, ingested_at + {shift} as ingested_at
                from template_impressions
                order by ingested_at
            ) to '{target["impressions"]}' (format parquet, compression zstd)
            """
        )
        self.connection.execute(
            f"""
            copy (
                select
                    reaction_id || '{suffix}' as reaction_id,
                    case when impression_copied then impression_id || '{suffix}' else impression_id end
                        as impression_id,
                    user_id, article_id, reacted_at + {shift} as reacted_at, kind, dwell_seconds,
                    ingested_at + {shift} as ingested_at
                from template_reactions
                order by ingested_at
            ) to '{target["reactions"]}' (format parquet, compression zstd)
            """
        )

    def close(self) -> None:
        self.connection.close()


# --------------------------------------------------------------------------------------------------
# dbt


@dataclasses.dataclass(frozen=True)
class DbtRun:
    name: str
    seconds: float  # wall time of the dbt process, start-up included
    model_seconds: float | None  # first model start to last model end, from run_results.json
    peak_rss_mb: float
    per_model: dict[str, float]  # model name -> its execution_time in run_results.json
    # 1-minute load average before and after: the machine may be shared, and wall times depend on it.
    load: tuple[float, float] = (0.0, 0.0)


class Project:
    """A throwaway copy of the dbt project on the local target (same layout as tests/local_project.py)."""

    def __init__(self, root: Path, raw_dir: Path, variant: str = "declarative") -> None:
        self.root = root
        self.variant = variant
        self.target_path = root / "target"
        self.logs = root / "bench-logs"
        self.duckdb_path = self.target_path / "featurestore.duckdb"
        self.dbt_bin = Path(sys.executable).parent / "dbt"
        self._count = 0
        if root.exists():
            shutil.rmtree(root)  # a fresh database: the full refresh starts from nothing
        root.mkdir(parents=True)
        # A copy, so concurrent edits in the checkout cannot change the project mid-benchmark.
        for name in ("dbt_project.yml", "profiles.example.yml"):
            shutil.copy(PROJECT_DIR / name, root / name)
        for folder in ("models", "macros", "seeds", "tests/dbt"):
            shutil.copytree(PROJECT_DIR / folder, root / folder)
        if variant == "legacy":
            overlay_legacy(root)
        elif variant == "functions":
            overlay_functions(root)
        profiles_dir = root / ".dbt"
        profiles_dir.mkdir()
        shutil.copy(root / "profiles.example.yml", profiles_dir / "profiles.yml")
        self.logs.mkdir()
        self.env = {
            **os.environ,
            "DBT_PROFILES_DIR": str(profiles_dir),
            "FEATURESTORE_RAW_PATH": str(raw_dir),
            "FEATURESTORE_DUCKDB_PATH": str(self.duckdb_path),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        self.env.pop("FEATURESTORE_TARGET", None)

    def dbt(self, name: str, *args: str) -> DbtRun:
        self._count += 1
        log_file = self.logs / f"{self._count:02d}-{name}.log"
        run_results = self.target_path / "run_results.json"
        run_results.unlink(missing_ok=True)
        command = [
            str(self.dbt_bin),
            *args,
            "--target",
            "local",
            "--target-path",
            str(self.target_path),
            "--log-path",
            str(self.logs),
        ]
        load_before = os.getloadavg()[0]
        with log_file.open("w") as out:
            began = time.perf_counter()
            process = subprocess.Popen(command, cwd=self.root, env=self.env, stdout=out, stderr=subprocess.STDOUT)
            # wait4 gives this child's own peak RSS (RUSAGE_CHILDREN would be the max over all children).
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - began
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            tail = "\n".join(log_file.read_text().splitlines()[-40:])
            raise RuntimeError(f"dbt {name} failed (exit {process.returncode}), log {log_file}:\n{tail}")
        results = json.loads(run_results.read_text()).get("results", []) if run_results.exists() else []
        per_model = {r["unique_id"].rsplit(".", 1)[-1]: float(r.get("execution_time") or 0) for r in results}
        # ru_maxrss is in KiB on Linux.
        load = (load_before, os.getloadavg()[0])
        return DbtRun(name, seconds, _model_seconds(results), usage.ru_maxrss / 1024, per_model, load)


def _model_seconds(results: list[dict[str, Any]]) -> float | None:
    starts: list[datetime.datetime] = []
    ends: list[datetime.datetime] = []
    for result in results:
        for step in result.get("timing", []):
            if step.get("started_at") and step.get("completed_at"):
                starts.append(datetime.datetime.fromisoformat(step["started_at"].replace("Z", "+00:00")))
                ends.append(datetime.datetime.fromisoformat(step["completed_at"].replace("Z", "+00:00")))
    if not starts:
        return None
    # A span, not a sum: dbt runs the three groups on parallel threads.
    return (max(ends) - min(starts)).total_seconds()


# --------------------------------------------------------------------------------------------------
# One size


@dataclasses.dataclass(frozen=True)
class SizeResult:
    label: str
    history: History
    full_refresh: DbtRun
    batch: BatchTemplate
    incremental: list[DbtRun]
    startup: list[DbtRun]
    backfill: DbtRun | None
    backfill_range: tuple[str, str] | None
    variant: str = "declarative"

    @property
    def incremental_median(self) -> float:
        return statistics.median(run.seconds for run in self.incremental)

    @property
    def startup_median(self) -> float:
        return statistics.median(run.seconds for run in self.startup)

    @property
    def incremental_net(self) -> float:
        return self.incremental_median - self.startup_median

    @property
    def incremental_model_median(self) -> float | None:
        spans = [run.model_seconds for run in self.incremental if run.model_seconds is not None]
        return statistics.median(spans) if spans else None


def users_for(events: int, days: int) -> int:
    return max(1, round(events / (days * EVENTS_PER_USER_DAY)))


def days_for(events: int, users: int) -> int:
    return max(1, round(events / (users * EVENTS_PER_USER_DAY)))


def population(events: int, args: argparse.Namespace) -> tuple[int, int]:
    """(users, days) for a history of about `events` events."""
    if args.days is not None:
        return users_for(events, args.days), args.days
    return args.users, days_for(events, args.users)


def bench_size(events: int, args: argparse.Namespace, variant: str = "declarative") -> SizeResult:
    label = size_label(events) + ("" if variant == "declarative" and len(args.variants) == 1 else f" {variant}")
    log(f"== {label} events")
    users, days = population(events, args)
    config = DemoDataConfig(users=users, days=days, start=args.start, seed=args.seed)
    # Data is keyed by its config, not the size label, so a different --days does not reuse stale data.
    data_dir = args.work_dir / f"data-u{config.users}-d{config.days}-{config.start}-s{config.seed}"
    history = prepare_history(config, data_dir / "raw")
    project = Project(args.work_dir / f"run-{label.replace(' ', '-')}", history.raw_dir, variant)
    try:
        # Parse once untimed: every timed run then starts from dbt's partial-parse cache, as a scheduled
        # deployment that keeps its target/ folder would.
        project.dbt("parse", "parse")
        log("  full refresh ...")
        # The functions variant's groups read reactions only; the micro-batch also runs the impressions staging.
        staging = ["+path:models/staging"] if variant == "functions" else []
        full = project.dbt("full-refresh", "run", "--select", f"+{FEATURE_GROUPS}", *staging, "--full-refresh")
        log(f"  full refresh: {full.seconds:.1f} s, {history.events / full.seconds:,.0f} events/s")

        batcher = MicroBatcher(history.raw_dir, args.batch_minutes)
        try:
            template = batcher.template()
            log(f"  micro-batches of {template.events:,} events after {template.newest_event}")
            incremental: list[DbtRun] = []
            for k in range(1, args.warmup_batches + args.batches + 1):
                batcher.append(k)
                warmup = k <= args.warmup_batches
                run = project.dbt(f"{'warmup' if warmup else 'incremental'}-{k}", "run", "--select", MICRO_BATCH)
                if not warmup:
                    incremental.append(run)
                log(f"  {'warm-up' if warmup else 'incremental'} {k}: {run.seconds:.1f} s")
        finally:
            batcher.close()

        # dbt's fixed cost: process start, project load (partial parse), graph and selection. A run that
        # selects nothing does all of it and no SQL, so wall time minus this is the work the run does.
        startup = [
            project.dbt("startup", "run", "--select", FEATURE_GROUPS, "--exclude", FEATURE_GROUPS)
            for _ in range(args.startup_runs)
        ]
        log(f"  dbt start-up: {statistics.median(r.seconds for r in startup):.1f} s")

        backfill = None
        backfill_range = None
        if args.with_backfill:
            backfill_range = _backfill_range(template.newest_event, args)
            log(f"  range backfill {backfill_range[0]} .. {backfill_range[1]} ...")
            # The range backfill (macros/backfill_range.sql) takes two vars, ISO dates or date-times in
            # UTC, a date meaning midnight: backfill_start (inclusive) and backfill_end (exclusive). It is an
            # incremental run that recomputes and replaces the feature rows whose event time lies in
            # [backfill_start, backfill_end), reading the window history before the start it needs.
            vars_yaml = json.dumps({"backfill_start": backfill_range[0], "backfill_end": backfill_range[1]})
            backfill = project.dbt("backfill", "run", "--select", FEATURE_GROUPS, "--vars", vars_yaml)
            log(f"  range backfill: {backfill.seconds:.1f} s")
    finally:
        if not args.keep:
            shutil.rmtree(project.root, ignore_errors=True)
    return SizeResult(label, history, full, template, incremental, startup, backfill, backfill_range, variant)


def _backfill_range(newest: datetime.datetime, args: argparse.Namespace) -> tuple[str, str]:
    # The last `backfill_days` whole days up to and including the day of the newest micro-batch.
    last_batch = newest + datetime.timedelta(minutes=(args.warmup_batches + args.batches) * args.batch_minutes)
    end = last_batch.date() + datetime.timedelta(days=1)
    return (end - datetime.timedelta(days=args.backfill_days)).isoformat(), end.isoformat()


# --------------------------------------------------------------------------------------------------
# Report


def machine_facts() -> list[tuple[str, str]]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        match = re.search(r"^MemTotal:\s+(\d+) kB", meminfo.read_text(), re.MULTILINE)
        if match:
            memory = f"{int(match.group(1)) / 1024**2:.1f} GiB"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with duckdb.connect() as connection:
        row = connection.execute("select current_setting('memory_limit'), current_setting('threads')").fetchone()
    duckdb_settings = f"memory_limit {row[0]}, threads {row[1]}" if row else "unknown"
    return [
        ("CPU", f"{cores} cores usable, {cpu} ({platform.machine()})"),
        ("memory", memory),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("duckdb", f"{duckdb.__version__} (defaults: {duckdb_settings}; the local profile sets {_profile_settings()})"),
        ("dbt", f"dbt-core {_version('dbt-core')}, dbt-duckdb {_version('dbt-duckdb')}"),
        ("commit", _commit()),
    ]


def _profile_settings() -> str:
    # What dbt-duckdb applies on top of DuckDB's defaults (memory_limit, temp_directory), with the env overrides.
    import yaml

    profile = yaml.safe_load((PROJECT_DIR / "profiles.example.yml").read_text())
    local = profile["featurestore"]["outputs"]["local"]
    settings = {**(local.get("config_options") or {}), **(local.get("settings") or {})}

    def render(value: object) -> str:
        match = re.fullmatch(r"\{\{\s*env_var\('(\w+)',\s*'([^']*)'\)\s*\}\}", str(value).strip())
        return os.environ.get(match.group(1), match.group(2)) if match else str(value)

    return ", ".join(f"{name} {render(value)}" for name, value in settings.items()) or "none"


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _commit() -> str:
    # Read-only plumbing; other people's uncommitted edits may also be in the measured models.
    try:
        result = subprocess.run(
            ["git", "-C", str(PROJECT_DIR), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "unknown"
    return result.stdout.strip() or "unknown"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _mb(value: float) -> str:
    return f"{value / 1024:.1f} GB" if value >= 1024 else f"{value:.0f} MB"


def render_report(results: list[SizeResult], args: argparse.Namespace, command: str, total_seconds: float) -> str:
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"## Feature groups: full refresh and incremental micro-batches ({date[:10]})", ""]
    lines += ["Command (from the repository root), whole run " + _duration(total_seconds) + ":", ""]
    lines += ["```bash", command, "```", ""]
    lines += [f"- {name}: {value}" for name, value in machine_facts()]
    lines += [f"- date: {date}", ""]

    lines += [
        (
            f"History: {args.days} days of `featurestore demo-data` (seed {args.seed}, from {args.start}), users "
            "scaled to the size"
            if args.days is not None
            else f"History: {args.users:,} users of `featurestore demo-data` (seed {args.seed}, from {args.start}), "
            "days of history scaled to the size"
        )
        + "; events = raw impressions + reactions, dirty rows included.",
        "",
        "### Full refresh",
        "",
        "`dbt run --select +path:models/feature_groups --full-refresh` on an empty DuckDB file (base views, "
        "incremental staging tables and the three feature groups). "
        "Wall time of the dbt process; *models* is the span from the first model's "
        "start to the last one's end in `run_results.json`.",
        "",
    ]
    rows = []
    for r in results:
        full = r.full_refresh
        rows.append(
            [
                r.label,
                f"{r.history.config.users:,} x {r.history.config.days} d",
                f"{r.history.events:,}",
                f"{full.seconds:.1f} s",
                f"{full.model_seconds:.1f} s" if full.model_seconds is not None else "-",
                f"{r.history.events / full.seconds:,.0f}",
                _mb(full.peak_rss_mb),
                _load(full.load),
            ]
        )
    lines += _table(
        ["size", "users x days", "events", "wall", "models", "events/s (wall)", "peak RSS", "load before -> after"],
        rows,
    )

    base = results[0]

    def smallest(result: SizeResult) -> SizeResult:
        return next(r for r in results if r.variant == result.variant)

    lines += [
        "",
        f"### Incremental micro-batch ({args.batch_minutes} minutes of new events)",
        "",
        f"After the full refresh and {args.warmup_batches} untimed warm-up batches, {args.batches} times: append a "
        f"batch of the newest {args.batch_minutes} minutes' events, shifted {args.batch_minutes} minutes forward "
        f"with new ids, then `dbt run --select {MICRO_BATCH}` (the staging tables, then the feature groups). "
        "*staging* is the two staging models' `execution_time`. "
        "The history ends around midnight UTC, a quiet hour, so a batch holds about "
        "0.6x the day's average 5-minute volume. Times are medians of the runs. *dbt start-up* is the median of "
        f"{args.startup_runs} runs that select nothing (process start, project load from the partial-parse "
        "cache, graph), so *net* = wall - start-up is the run's own work; *models* is the run_results span. "
        f"Ratios are to the smallest size ({base.label}).",
        "",
    ]
    rows = []
    for r in results:
        walls = [run.seconds for run in r.incremental]
        model = r.incremental_model_median
        staging = statistics.median(
            sum(run.per_model.get(name, 0.0) for name in STAGING_TABLES) for run in r.incremental
        )
        rows.append(
            [
                r.label,
                f"{r.batch.events:,}",
                f"{r.incremental_median:.1f} s ({min(walls):.1f}-{max(walls):.1f})",
                f"{r.startup_median:.1f} s",
                f"{r.incremental_net:.1f} s",
                f"{model:.1f} s" if model is not None else "-",
                f"{staging:.1f} s",
                f"{r.incremental_median / smallest(r).incremental_median:.2f}x",
                f"{r.incremental_net / smallest(r).incremental_net:.2f}x" if smallest(r).incremental_net > 0 else "-",
                _mb(max(run.peak_rss_mb for run in r.incremental)),
                f"{min(min(run.load) for run in r.incremental):.1f}-{max(max(run.load) for run in r.incremental):.1f}",
            ]
        )
    lines += _table(
        [
            "size",
            "batch events",
            "wall (min-max)",
            "dbt start-up",
            "net",
            "models",
            "staging",
            "wall vs smallest",
            "net vs smallest",
            "peak RSS",
            "load (1 min)",
        ],
        rows,
    )
    if len({r.label.split()[0] for r in results}) > 1:
        top = [r for r in results if r.variant == base.variant][-1]
        ratio = top.incremental_median / base.incremental_median
        verdict = "met" if ratio <= 1.5 else "not met"
        lines += [
            "",
            f"Goal (largest history within 1.5x of the smallest, wall time): {top.label} / {base.label} = "
            f"{ratio:.2f}x, {verdict}.",
        ]

    groups = [
        *STAGING_TABLES,
        *sorted({name for r in results for name in r.full_refresh.per_model if not name.startswith(("base_", "stg_"))}),
    ]
    if groups:
        lines += [
            "",
            "### Per model",
            "",
            "Each model's `execution_time` from `run_results.json` (full refresh; median of the incremental runs): "
            "the two staging tables, then the feature groups. The groups run on parallel threads, so they add up to "
            "more than the *models* span.",
            "",
        ]
        rows = []
        for r in results:
            cells = [r.label]
            for group in groups:
                full = r.full_refresh.per_model.get(group)
                incremental = [run.per_model[group] for run in r.incremental if group in run.per_model]
                cells.append(
                    (f"{full:.1f} s" if full is not None else "-")
                    + " / "
                    + (f"{statistics.median(incremental):.1f} s" if incremental else "-")
                )
            rows.append(cells)
        lines += _table(["size", *(f"{g} (full / incremental)" for g in groups)], rows)

    if any(r.backfill is not None for r in results):
        lines += [
            "",
            f"### Range backfill ({args.backfill_days} days) vs full refresh",
            "",
            "`dbt run --select path:models/feature_groups --vars '{backfill_start: ..., backfill_end: ...}'` "
            "after the micro-batches.",
            "",
        ]
        rows = []
        for r in results:
            if r.backfill is None or r.backfill_range is None:
                continue
            rows.append(
                [
                    r.label,
                    f"{r.backfill_range[0]} .. {r.backfill_range[1]}",
                    f"{r.backfill.seconds:.1f} s",
                    f"{r.full_refresh.seconds:.1f} s",
                    f"{r.backfill.seconds / r.full_refresh.seconds:.2f}x",
                    _mb(r.backfill.peak_rss_mb),
                ]
            )
        lines += _table(["size", "range", "backfill wall", "full refresh wall", "ratio", "peak RSS"], rows)

    generated = [r for r in results if r.history.generated_seconds is not None]
    if generated:
        lines += [
            "",
            "Data generation (not part of the timings): "
            + ", ".join(f"{r.label} {_duration(r.history.generated_seconds or 0)}" for r in generated)
            + ".",
        ]
    return "\n".join(lines) + "\n"


def _load(load: tuple[float, float]) -> str:
    return f"{load[0]:.1f} -> {load[1]:.1f}"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{seconds:.0f} s"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("users", "days", "batches", "batch_minutes", "startup_runs", "backfill_days"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    args.work_dir = args.work_dir.resolve()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    out = args.out or args.work_dir / "results.md"
    raw_argv = sys.argv[1:] if argv is None else list(argv)
    command = shlex.join([".venv/bin/python", "benchmarks/bench_incremental.py", *raw_argv])

    began = time.perf_counter()
    for variant in args.variants:
        if variant not in ("declarative", "legacy", "functions"):
            parser.error(f"--variants: unknown variant {variant!r}")
    # Side by side: each size runs every variant on the same data before the next size. The report is
    # rewritten after each, so a long run stopped (or failing) midway keeps what it measured.
    results: list[SizeResult] = []
    for events in args.sizes:
        for variant in args.variants:
            results.append(bench_size(events, args, variant))
            out.write_text(render_report(results, args, command, time.perf_counter() - began))
            log(f"report so far written to {out}")
    print(out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
