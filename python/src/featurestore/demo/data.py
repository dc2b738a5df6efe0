"""Deterministic, seeded demo data: the raw tables of a small news service, written as Parquet.

Layout under ``out_dir`` (the four folders are replaced on every run; nothing else is touched)::

    articles/articles.parquet
    users/users.parquet
    impressions/dt=YYYY-MM-DD/part-0.parquet
    reactions/dt=YYYY-MM-DD/part-0.parquet

The event folders are hive partitions by *ingestion* date (``dt`` is the UTC date of ``ingested_at``
and is not stored inside the files), so late events land in a later folder than their event date and
the last few folders may lie after the generated period.

All timestamps are ``timestamp[us]`` without a timezone and mean UTC; the daily activity and
publishing cycles are also expressed in UTC hours.

The data is shaped like real traffic so that features computed on it look plausible: heavy-tailed
article popularity decaying with article age, a daily cycle, per-user category preferences driving
click-through, position bias, heterogeneous user activity, and a small amount of dirt (late, null-id,
duplicate and clock-skewed rows) that the dbt staging models are expected to handle.

Generation is vectorized per day and written day by day, so memory stays bounded by one day of
events plus the small tail of rows that will be ingested on later days. The same config always
produces the same tables: every random stream is derived from ``(seed, stream, day)`` rather than
from a shared generator, so the output does not depend on generation order.
"""

from __future__ import annotations

import datetime
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from featurestore.demo.entities import _make_articles, _make_users
from featurestore.demo.events import _sorted_by_ingestion, _stage_day
from featurestore.demo.schemas import (
    ARTICLES_SCHEMA,
    CATEGORIES,
    IMPRESSIONS_SCHEMA,
    PLANS,
    REACTION_KINDS,
    REACTIONS_SCHEMA,
    SURFACES,
    TABLES,
    USERS_SCHEMA,
    DemoDataConfig,
    DemoDataSummary,
)
from featurestore.demo.shape import _DAY, _EPOCH

__all__ = [
    "ARTICLES_SCHEMA",
    "CATEGORIES",
    "IMPRESSIONS_SCHEMA",
    "PLANS",
    "REACTIONS_SCHEMA",
    "REACTION_KINDS",
    "SURFACES",
    "TABLES",
    "USERS_SCHEMA",
    "DemoDataConfig",
    "DemoDataSummary",
    "generate_demo_data",
]


def generate_demo_data(
    config: DemoDataConfig,
    out_dir: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> DemoDataSummary:
    """Write the four raw tables under ``out_dir``, replacing any previous output of this function.

    ``progress(done_days, total_days)`` is called after each event day has been written.
    """
    began = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        _remove(out_dir / table)

    rows = dict.fromkeys(TABLES, 0)
    files = 0
    start_us = (config.start - _EPOCH).days * _DAY

    articles = _make_articles(config, start_us)
    users = _make_users(config, start_us)
    for name, table in (("articles", articles.table), ("users", users.table)):
        rows[name] += _write(table, out_dir / name / f"{name}.parquet")
        files += 1

    # Rows waiting for their ingestion day's folder, keyed by day index relative to `start`.
    pending: dict[str, dict[int, list[pa.Table]]] = {"impressions": {}, "reactions": {}}
    next_ids = {"impressions": 0, "reactions": 0}
    for day in range(config.days):
        _stage_day(config, day, start_us, articles, users, next_ids, pending)
        # Ingestion never precedes the true event time, so no later event day can add rows to
        # folders up to `day`; on the last day everything still pending is flushed.
        last = day == config.days - 1
        for name, by_day in pending.items():
            for ingest_day in sorted(by_day):
                if ingest_day > day and not last:
                    continue
                dt = config.start + datetime.timedelta(days=ingest_day)
                path = out_dir / name / f"dt={dt.isoformat()}" / "part-0.parquet"
                rows[name] += _write(_sorted_by_ingestion(by_day.pop(ingest_day)), path)
                files += 1
        if progress is not None:
            progress(day + 1, config.days)

    return DemoDataSummary(out_dir=out_dir, rows=rows, files=files, seconds=time.perf_counter() - began)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _write(table: pa.Table, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")
    return int(table.num_rows)
