"""What the offline store says about a feature group now: whether it is built, how new its data is, its
grain, and statistics of each feature over the last day of rows. Read by `featurestore status`
(freshness.py) and the catalog (entries.py), on DuckDB or Athena through one `run(group, sql)` callable
(the `query` of the target's offline store, offline.open_offline_store).

The newest event time is that of the newest row at or before both `now` and the group's last computation
(max computed_at): groups pre-compute rows for later times (when events leave a window), and those rows,
though they become valid as time passes, say nothing about whether new data arrives. Only rows in the last
`LOOKBACK` before `now` are read (a literal bound, so Athena prunes the day partitions).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyarrow as pa

from featurestore.core.contract import FeatureGroup
from featurestore.core.errors import OfflineStoreError
from featurestore.core.timestamps import sql_timestamp

QueryRunner = Callable[[FeatureGroup, str], pa.Table]
# How far back of `now` the freshness query looks; a group with no row computed in that time is reported as
# having no recent rows.
LOOKBACK = timedelta(days=30)
STATS_WINDOW = timedelta(days=1)
NUMERIC_TYPES = ("tinyint", "smallint", "int", "integer", "bigint", "float", "real", "double", "decimal")
ORDERED_TYPES = ("timestamp", "date")


@dataclass(frozen=True)
class FeatureStats:
    name: str
    rows: int
    nulls: int
    minimum: object = None
    maximum: object = None
    mean: float | None = None

    @property
    def null_share(self) -> float | None:
        return self.nulls / self.rows if self.rows else None


@dataclass(frozen=True)
class GroupFacts:
    """What the offline store holds of a group at `now`. `error` is set (and the rest empty) when the group
    cannot be read, typically because it was never built."""

    group: str
    now: datetime
    error: str | None = None
    last_run_at: datetime | None = None
    newest_event_at: datetime | None = None
    grain: timedelta | None = None
    stats_from: datetime | None = None
    stats_rows: int = 0
    features: tuple[FeatureStats, ...] = ()

    @property
    def built(self) -> bool:
        return self.error is None


def freshness_sql(group: FeatureGroup, now: datetime) -> str:
    event_time = group.event_time
    return (
        f"with recent as (select {event_time}, computed_at from {group.relation_name} "
        f"where {event_time} > {sql_timestamp(now - LOOKBACK)}), "
        "runs as (select max(computed_at) as last_run_at from recent) "
        f"select runs.last_run_at, max(recent.{event_time}) as newest_event_at "
        f"from runs left join recent on recent.{event_time} <= least({sql_timestamp(now)}, runs.last_run_at) "
        "group by runs.last_run_at"
    )


def event_times_sql(group: FeatureGroup, newest: datetime, limit: int = 2000) -> str:
    """Distinct event times of the last day of rows, to infer the grain from."""
    event_time = group.event_time
    return (
        f"select distinct {event_time} as event_at from {group.relation_name} "
        f"where {event_time} > {sql_timestamp(newest - STATS_WINDOW)} and {event_time} <= {sql_timestamp(newest)} "
        f"order by 1 desc limit {limit}"
    )


def _kind(data_type: str) -> str:
    base = data_type.split("(")[0].strip()
    if base in NUMERIC_TYPES:
        return "numeric"
    if base in ORDERED_TYPES:
        return "ordered"
    return "other"


def stats_sql(group: FeatureGroup, newest: datetime) -> str:
    """Row count, non-null count, and min/max (numbers, times) and mean (numbers) of every feature over the
    rows with event time in (newest - 1 day, newest]."""
    parts = ["count(*) as row_count"]
    for index, feature in enumerate(group.features):
        name = feature.name
        parts.append(f"count({name}) as c{index}_count")
        kind = _kind(feature.data_type)
        if kind in ("numeric", "ordered"):
            parts.append(f"min({name}) as c{index}_min")
            parts.append(f"max({name}) as c{index}_max")
        if kind == "numeric":
            parts.append(f"avg(cast({name} as double)) as c{index}_mean")
    event_time = group.event_time
    return (
        f"select {', '.join(parts)} from {group.relation_name} "
        f"where {event_time} > {sql_timestamp(newest - STATS_WINDOW)} and {event_time} <= {sql_timestamp(newest)}"
    )


def infer_grain(times: list[datetime]) -> timedelta | None:
    """The largest step that every event time lies on (the gcd of their seconds since the epoch): a group
    emitting rows at the close of 5-minute buckets has a 5-minute grain. None with fewer than two times."""
    if len(times) < 2:
        return None
    epoch = datetime(1970, 1, 1)
    step = 0
    for value in times:
        step = math.gcd(step, int((value - epoch).total_seconds()))
    return timedelta(seconds=step) if step else None


def read_facts(group: FeatureGroup, run: QueryRunner, now: datetime, *, with_stats: bool = True) -> GroupFacts:
    """The facts of one group at `now` (naive UTC); a group that cannot be read gets `error`."""
    try:
        row = run(group, freshness_sql(group, now)).to_pylist()
    except OfflineStoreError as error:
        return GroupFacts(group.name, now, error=str(error))
    last_run_at = row[0]["last_run_at"] if row else None
    newest = row[0]["newest_event_at"] if row else None
    if newest is None:
        return GroupFacts(group.name, now, last_run_at=last_run_at)
    times = [value for value in run(group, event_times_sql(group, newest)).column("event_at").to_pylist() if value]
    grain = infer_grain(times)
    if not with_stats:
        return GroupFacts(group.name, now, last_run_at=last_run_at, newest_event_at=newest, grain=grain)
    stats = run(group, stats_sql(group, newest)).to_pylist()[0]
    rows = int(stats["row_count"] or 0)
    features = tuple(
        FeatureStats(
            name=feature.name,
            rows=rows,
            nulls=rows - int(stats[f"c{index}_count"] or 0),
            minimum=stats.get(f"c{index}_min"),
            maximum=stats.get(f"c{index}_max"),
            mean=stats.get(f"c{index}_mean"),
        )
        for index, feature in enumerate(group.features)
    )
    return GroupFacts(
        group.name,
        now,
        last_run_at=last_run_at,
        newest_event_at=newest,
        grain=grain,
        stats_from=newest - STATS_WINDOW,
        stats_rows=rows,
        features=features,
    )
