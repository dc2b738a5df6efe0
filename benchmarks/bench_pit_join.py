#!/usr/bin/env python3
"""Benchmark point-in-time joins on the local target (DuckDB): the macro's two methods against the classic
range join + ROW_NUMBER and a minimal hand-written ASOF query, on the same data in the same run.

Data (seeded, generated inside DuckDB, see `generate`): a spine of `--spine-rows` labelled impressions (user,
article, the article's category, a time over 30 days) and the three feature groups' tables under their local
relation names (`featurestore.main_features.*`) with `--feature-rows` rows in all: 55% user_engagement
(5-minute grain), 30% article_popularity, 15% user_category_affinity, as dense per entity as the demo's.

Methods, each run in its own process so that its peak memory (max RSS) is its own:
- `macro_asof`: `point_in_time_join` as compiled for the local target (DuckDB's ASOF LEFT JOIN, TTL applied);
- `macro_window`: the same call with method='window', the algorithm Athena runs (UNION ALL + window functions);
- `range_join`: per group, spine LEFT JOIN feature rows ON key and event time in (label time - TTL, label time],
  then ROW_NUMBER() per spine row keeps the newest: what most feature stores do today;
- `hand_asof`: a bare ASOF LEFT JOIN per group, without the TTL: the practical limit.
Each materializes its result as a table (the spine's rows with 9 features and 3 event-time columns) and the
script checks that all methods return the same rows (hand_asof ignoring the TTL).

    .venv/bin/python benchmarks/bench_pit_join.py --work-dir /tmp/fs-bench-pit --scales 1,2

The Markdown report goes to stdout and `--out`; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from featurestore.core.dbt_compiler import DbtCompiler

PROJECT_DIR = Path(__file__).resolve().parents[1]

GROUPS = {
    # group: (entity columns, TTL, features requested, share of the feature rows)
    "user_engagement": (("user_id",), "7 days", ("clicks_1h", "ctr_24h", "clicks_7d", "ctr_7d"), 0.55),
    "article_popularity": (("article_id",), "2 days", ("clicks_15m", "ctr_1h", "clicks_per_minute_15m"), 0.30),
    "user_category_affinity": (("user_id", "category"), "30 days", ("clicks_30d", "click_share_30d"), 0.15),
}
SPINE = "spine"
SPINE_COLUMNS = ("impression_id", "user_id", "article_id", "category", "shown_at")
START = datetime.datetime(2026, 9, 1)
DAYS = 30


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def generate(path: Path, spine_rows: int, feature_rows: int, seed: int = 7, denser: int = 1) -> None:
    """Spine and feature tables in a fresh DuckDB file, as dense per entity as the demo's feature groups.

    The demo (`make demo`) has about 7 user_engagement rows per user per day and about 180 article_popularity
    rows per article, nearly all within the article's first 2 days (news is read when it is new). Entity
    counts scale with the data to keep those densities: 15M feature rows give about 39k users and 25k
    articles. Impressions of an article fall in its first 2 days too; users and articles are drawn with a
    skew (a few very active users, a few hot articles).
    """
    path.unlink(missing_ok=True)
    # `denser` divides the entity counts: the same rows over fewer entities, i.e. longer histories each.
    users, articles = max(1000, feature_rows // 380 // denser), max(200, feature_rows // 600 // denser)
    seconds, life = DAYS * 86400, 2 * 86400
    skewed = "cast(floor(pow(random(), 2) * {n}) as bigint)"
    with duckdb.connect(str(path)) as db:
        db.execute(f"select setseed({seed / 100})")
        db.execute("create schema main_features")
        db.execute(
            f"""create temp table articles as
            select range as article_id, 'c' || (range % 12) as category, floor(random() * {seconds}) as published_s
            from range({articles})"""
        )
        db.execute(
            f"""create table {SPINE} as
            select
                'i' || draws.row_id as impression_id,
                draws.user_id,
                draws.article_id,
                articles.category,
                timestamp '{START}' + to_seconds(cast(articles.published_s + floor(random() * {life}) as bigint))
                    as shown_at
            from (
                select range as row_id, {skewed.format(n=users)} as user_id, {skewed.format(n=articles)} as article_id
                from range({spine_rows})
            ) as draws
            inner join articles on draws.article_id = articles.article_id"""
        )
        for group, (entity, _, features, share) in GROUPS.items():
            rows = int(feature_rows * share)
            columns = ", ".join(
                f"{'cast(floor(random() * 50) as bigint)' if 'clicks' in f and 'per' not in f else 'random()'} as {f}"
                for f in features
            )
            if group == "article_popularity":
                draws = f"select {skewed.format(n=articles)} as article_id from range({rows})"
                source = f"({draws}) as draws inner join articles on draws.article_id = articles.article_id"
                key_columns = "draws.article_id"
                offset = f"floor((articles.published_s + random() * {life}) / 300) * 300"
            else:
                source = f"range({rows})"
                grain = 300 if group == "user_engagement" else 3600
                key_columns = f"{skewed.format(n=users)} as user_id"
                if group == "user_category_affinity":
                    key_columns += ", 'c' || cast(floor(random() * 12) as integer) as category"
                offset = f"floor(random() * {seconds // grain}) * {grain}"
            db.execute(
                f"""create table main_features.{group} as
                select distinct on ({", ".join(entity)}, effective_at) *
                from (
                    select
                        {key_columns},
                        timestamp '{START}' + to_seconds(cast({offset} as bigint)) as effective_at,
                        {columns}
                    from {source}
                )"""
            )
        counts = {
            name: db.execute(f"select count(*) from {name}").fetchone()[0]
            for name in [SPINE, *(f"main_features.{group}" for group in GROUPS)]
        }
    log(f"generated {counts}")


def rows_per_entity(database: Path) -> dict[str, float]:
    with duckdb.connect(str(database), read_only=True) as db:
        return {
            group: db.execute(
                f"select count(*) / count(distinct ({', '.join(entity)})) from main_features.{group}"
            ).fetchone()[0]
            for group, (entity, _, _, _) in GROUPS.items()
        }


def macro_sql(compiler: DbtCompiler, method: str, bounds: tuple[str, str]) -> str:
    entries = [{"group": group, "features": list(features)} for group, (_, _, features, _) in GROUPS.items()]
    entries[0]["prefix"], entries[1]["prefix"], entries[2]["prefix"] = "user_", "article_", "affinity_"
    call = (
        f"{{{{ featurestore.point_in_time_join(spine='{SPINE}', spine_time='shown_at', "
        f"feature_groups={json.dumps(entries)}, spine_columns={json.dumps(list(SPINE_COLUMNS))}, "
        f"time_bounds={json.dumps(list(bounds))}, method='{method}') }}}}"
    )
    return compiler.compile(call)


def _outputs(group: str, alias: str) -> list[tuple[str, str]]:
    prefix = {"user_engagement": "user_", "article_popularity": "article_", "user_category_affinity": "affinity_"}
    return [(f"{alias}.{f}", f"{prefix[group]}{f}") for f in GROUPS[group][2]]


def range_join_sql() -> str:
    """Per group: every feature row of the key within the TTL, then the newest per spine row."""
    source = f"(select row_number() over () as spine_row, * from {SPINE})"
    carried = ["spine_row", *SPINE_COLUMNS]
    for group, (entity, ttl, _, _) in GROUPS.items():
        outputs = _outputs(group, "f")
        on = " and ".join(f"s.{column} = f.{column}" for column in entity)
        select = ", ".join([*(f"s.{c}" for c in carried), *(f"{e} as {n}" for e, n in outputs)])
        time_column = f"{group}_effective_at"
        source = f"""(select * exclude (newest) from (
            select {select}, f.effective_at as {time_column},
                row_number() over (partition by s.spine_row order by f.effective_at desc) as newest
            from {source} as s
            left join featurestore.main_features.{group} as f
                on {on} and f.effective_at <= s.shown_at and f.effective_at > s.shown_at - interval '{ttl}'
        ) where newest = 1)"""
        carried += [name for _, name in outputs] + [time_column]
    return f"select * exclude (spine_row) from {source}"


def hand_asof_sql() -> str:
    select, joins = ["s.*"], []
    for index, (group, (entity, _, _, _)) in enumerate(GROUPS.items()):
        alias = f"f{index}"
        select += [f"{e} as {n}" for e, n in _outputs(group, alias)] + [f"{alias}.effective_at as {group}_effective_at"]
        on = " and ".join(f"s.{column} = {alias}.{column}" for column in entity)
        joins.append(
            f"asof left join featurestore.main_features.{group} as {alias} "
            f"on {on} and s.shown_at >= {alias}.effective_at"
        )
    return f"select {', '.join(select)} from {SPINE} as s {' '.join(joins)}"


def run_one(database: Path, sql_path: Path, result_table: str, threads: int) -> None:
    """Child process: attach the data under the local build's names, materialize the result, print the time."""
    sql = sql_path.read_text()
    with duckdb.connect(str(database)) as db:
        db.execute(f"set threads = {threads}")
        db.execute(f"drop table if exists {result_table}")
        # The compiled macro names relations "featurestore"."main_features"."<group>": the file's own name.
        started = time.perf_counter()
        db.execute(f"create table {result_table} as {sql}")
        elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed}))


def measure(database: Path, sql: str, name: str, work_dir: Path, threads: int) -> dict[str, float]:
    sql_path = work_dir / f"{name}.sql"
    sql_path.write_text(sql)
    command = [sys.executable, __file__, "--run-one", str(database), str(sql_path), f"result_{name}", str(threads)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    output = process.stdout.read() if process.stdout else ""
    if status != 0:
        raise SystemExit(f"{name} failed (status {status})")
    return {"seconds": json.loads(output)["seconds"], "peak_gb": usage.ru_maxrss / 1024 / 1024}


def compare(database: Path, names: list[str]) -> dict[str, int]:
    """Rows that differ from macro_asof's result (hand_asof compared on rows whose values are within TTL)."""
    differences = {}
    with duckdb.connect(str(database)) as db:
        for name in names:
            if name == "macro_asof":
                continue
            columns = ", ".join(r[0] for r in db.execute("describe result_macro_asof").fetchall())
            if name == "hand_asof":
                # Without the TTL the bare ASOF keeps stale rows: null those out before comparing.
                ttl_checks = []
                for group, (_, ttl, features, _) in GROUPS.items():
                    time_column = f"{group}_effective_at"
                    fresh = f"{time_column} > shown_at - interval '{ttl}'"
                    prefix = {
                        "user_engagement": "user_",
                        "article_popularity": "article_",
                        "user_category_affinity": "affinity_",
                    }[group]
                    ttl_checks += [f"case when {fresh} then {prefix}{f} end as {prefix}{f}" for f in features]
                    ttl_checks.append(f"case when {fresh} then {time_column} end as {time_column}")
                source = f"(select {', '.join(SPINE_COLUMNS)}, {', '.join(ttl_checks)} from result_hand_asof)"
            else:
                source = f"result_{name}"
            one_way = f"select {columns} from {source} except all select {columns} from result_macro_asof"
            other_way = f"select {columns} from result_macro_asof except all select {columns} from {source}"
            differences[name] = sum(
                db.execute(f"select count(*) from ({query})").fetchone()[0] for query in (one_way, other_way)
            )
    return differences


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--run-one":
        run_one(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/fs-bench-pit"))
    parser.add_argument("--spine-rows", type=int, default=1_000_000)
    parser.add_argument("--feature-rows", type=int, default=15_000_000)
    parser.add_argument("--scales", default="1,2", help="data multipliers; the window method runs at each")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--skip-range-join", action="store_true", help="the baseline can take many minutes")
    parser.add_argument(
        "--denser",
        type=int,
        default=4,
        help="also run ASOF, hand ASOF and the range join at 1x with this many times fewer entities (0: skip)",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    profiles = PROJECT_DIR / ".dbt"  # as the Makefile sets it up, unless DBT_PROFILES_DIR says otherwise
    compiler = DbtCompiler(
        PROJECT_DIR, target="local", profiles_dir=None if os.environ.get("DBT_PROFILES_DIR") else profiles
    )
    lines = [
        "## Point-in-time join (local target, DuckDB)",
        "",
        f"Date {datetime.date.today()}; machine: {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB, {platform.platform()}, "
        f"Python {platform.python_version()}, duckdb {duckdb.__version__} ({args.threads} threads); "
        f"load average before: {', '.join(f'{x:.1f}' for x in os.getloadavg())}.",
        "",
        "Command: `" + shlex.join([".venv/bin/python", "benchmarks/bench_pit_join.py", *sys.argv[1:]]) + "`",
        "",
        "| scale | spine rows | feature rows | method | wall | peak RSS | rows differing from macro_asof |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    window_times = {}
    for scale in [int(s) for s in args.scales.split(",")]:
        spine_rows, feature_rows = args.spine_rows * scale, args.feature_rows * scale
        # One file per scale: it is also where the children attach from (named "featurestore", as dbt names it).
        database = args.work_dir / f"scale{scale}" / "featurestore.duckdb"
        database.parent.mkdir(parents=True, exist_ok=True)
        log(f"scale {scale}: generating {spine_rows:,} spine rows, {feature_rows:,} feature rows")
        generate(database, spine_rows, feature_rows)
        with duckdb.connect(str(database), read_only=True) as db:
            low, high = db.execute(f"select min(shown_at), max(shown_at) from {SPINE}").fetchone()
        bounds = (str(low), str(high))
        methods = {
            "macro_asof": macro_sql(compiler, "asof", bounds),
            "macro_window": macro_sql(compiler, "window", bounds),
        }
        if scale == 1:
            methods["hand_asof"] = hand_asof_sql()
            if not args.skip_range_join:
                methods["range_join"] = range_join_sql()
        results = {}
        for name, sql in methods.items():
            log(f"scale {scale}: {name} ...")
            results[name] = measure(database, sql, name, database.parent, args.threads)
            log(f"scale {scale}: {name} {results[name]['seconds']:.1f} s, peak {results[name]['peak_gb']:.2f} GB")
        differences = compare(database, list(results))
        window_times[scale] = results["macro_window"]["seconds"]
        with duckdb.connect(str(database), read_only=True) as db:
            actual_features = sum(
                db.execute(f"select count(*) from main_features.{group}").fetchone()[0] for group in GROUPS
            )
        for name, result in results.items():
            lines.append(
                f"| {scale}x | {spine_rows:,} | {actual_features:,} | {name} | {result['seconds']:.1f} s | "
                f"{result['peak_gb']:.2f} GB | {differences.get(name, '-')} |"
            )
        if scale == 1:
            asof, hand = results["macro_asof"]["seconds"], results["hand_asof"]["seconds"]
            lines.append("")
            lines.append(
                "Feature rows per entity at 1x: "
                + ", ".join(f"{group} {rows:,.0f}" for group, rows in rows_per_entity(database).items())
            )
            lines.append(f"macro_asof / hand_asof = {asof / hand:.2f}x (goal: within 1.3x)")
            if "range_join" in results:
                lines.append(
                    f"range_join / macro_asof = {results['range_join']['seconds'] / asof:.1f}x (goal: at least 10x)"
                )
            lines.append("")
    if args.denser > 1:
        database = args.work_dir / f"denser{args.denser}" / "featurestore.duckdb"
        database.parent.mkdir(parents=True, exist_ok=True)
        log(f"denser x{args.denser}: generating")
        generate(database, args.spine_rows, args.feature_rows, denser=args.denser)
        with duckdb.connect(str(database), read_only=True) as db:
            low, high = db.execute(f"select min(shown_at), max(shown_at) from {SPINE}").fetchone()
        per_entity = rows_per_entity(database)
        methods = {"macro_asof": macro_sql(compiler, "asof", (str(low), str(high))), "hand_asof": hand_asof_sql()}
        if not args.skip_range_join:
            methods["range_join"] = range_join_sql()
        results = {}
        for name, sql in methods.items():
            log(f"denser: {name} ...")
            results[name] = measure(database, sql, name, database.parent, args.threads)
        differences = compare(database, list(results))
        lines.append("")
        lines.append(
            f"The same at 1x with {args.denser} times fewer entities (feature rows per entity: "
            + ", ".join(f"{group} {rows:,.0f}" for group, rows in per_entity.items())
            + "):"
        )
        lines.append("")
        lines.append("| method | wall | peak RSS | rows differing from macro_asof |")
        lines.append("| --- | --- | --- | --- |")
        for name, result in results.items():
            lines.append(
                f"| {name} | {result['seconds']:.1f} s | {result['peak_gb']:.2f} GB | {differences.get(name, '-')} |"
            )
        if "range_join" in results:
            ratio = results["range_join"]["seconds"] / results["macro_asof"]["seconds"]
            lines.append("")
            lines.append(f"range_join / macro_asof = {ratio:.1f}x")
    if 1 in window_times and 2 in window_times:
        lines.append(f"macro_window at 2x / at 1x = {window_times[2] / window_times[1]:.2f}x (goal: within 2.3x)")
    lines.append(f"\nLoad average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}.")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.write_text(report)


if __name__ == "__main__":
    main()
