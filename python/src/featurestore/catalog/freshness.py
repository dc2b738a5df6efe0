"""Is a feature group fresh? Thresholds from its contract (or its grain), and the status of each group:
offline (newest event time and its lag behind now, last run) and online (last sync and its lag, items).

`featurestore status` exits with the worst level, 0 ok / 1 warn / 2 error, for cron, Airflow or an alarm.

Default thresholds, when the contract declares no `freshness`: warn when the newest event time is more than
two grains behind now (at least 1 hour), error after four grains (at least 6 hours); a group of 5-minute
buckets warns after 1 h and errs after 6 h, one of hourly buckets after 2 h and 6 h, one of daily buckets
after 2 and 4 days. The grain is inferred from the data (stats.infer_grain), so it cannot drift from
the model's SQL.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from featurestore.catalog.stats import GroupFacts, QueryRunner, read_facts
from featurestore.core.contract import FeatureGroup
from featurestore.core.errors import FeatureStoreError
from featurestore.core.timestamps import naive_utc
from featurestore.online.base import ItemCount, OnlineStore, SyncMarker

MIN_WARN_AFTER = timedelta(hours=1)
MIN_ERROR_AFTER = timedelta(hours=6)


class Level(enum.IntEnum):
    """Also the exit code of `featurestore status`."""

    OK = 0
    WARN = 1
    ERROR = 2


@dataclass(frozen=True)
class Thresholds:
    warn_after: timedelta
    error_after: timedelta
    # "contract", or how the defaults were found ("grain 5m", "no grain: defaults").
    source: str


def thresholds(group: FeatureGroup, grain: timedelta | None) -> Thresholds:
    """The contract's `freshness`, completed by the defaults from the grain for what it leaves out."""
    warn_default = max(2 * grain, MIN_WARN_AFTER) if grain else MIN_WARN_AFTER
    error_default = max(4 * grain, MIN_ERROR_AFTER) if grain else MIN_ERROR_AFTER
    warn = group.freshness_warn_after or warn_default
    error = group.freshness_error_after or max(error_default, warn)
    declared = group.freshness_warn_after is not None or group.freshness_error_after is not None
    if declared:
        source = "contract"
    elif grain:
        source = f"default for grain {format_duration(grain)}"
    else:
        source = "default (grain unknown)"
    return Thresholds(min(warn, error), error, source)


@dataclass(frozen=True)
class OnlineFacts:
    """What the online store says of a group: its sync marker and item count (None: no table)."""

    marker: SyncMarker | None
    items: ItemCount | None
    error: str | None = None


@dataclass(frozen=True)
class GroupStatus:
    group: FeatureGroup
    facts: GroupFacts
    thresholds: Thresholds
    online: OnlineFacts | None
    level: Level
    problems: tuple[str, ...] = field(default=())
    # When dbt last built the group successfully, from its run_results.json (None: not in the last invocation).
    last_success_at: datetime | None = None

    @property
    def lag(self) -> timedelta | None:
        newest = self.facts.newest_event_at
        return self.facts.now - newest if newest is not None else None

    @property
    def last_sync_at(self) -> datetime | None:
        return self.online.marker.valid_until if self.online and self.online.marker else None

    @property
    def sync_lag(self) -> timedelta | None:
        synced = self.last_sync_at
        return self.facts.now - synced if synced is not None else None


def _judge(lag: timedelta, limits: Thresholds, what: str) -> tuple[Level, str | None]:
    if lag > limits.error_after:
        return (
            Level.ERROR,
            f"{what} {format_duration(lag)} behind now (error after {format_duration(limits.error_after)})",
        )
    if lag > limits.warn_after:
        return Level.WARN, f"{what} {format_duration(lag)} behind now (warn after {format_duration(limits.warn_after)})"
    return Level.OK, None


def group_status(
    group: FeatureGroup, facts: GroupFacts, online: OnlineFacts | None, last_success_at: datetime | None = None
) -> GroupStatus:
    """Judge one group: offline lag against its thresholds, and for an online group its last sync as well."""
    limits = thresholds(group, facts.grain)
    problems: list[str] = []
    level = Level.OK
    if not facts.built:
        level = Level.ERROR
        problems.append(f"not built: run `dbt build --select {group.name}` ({facts.error})")
    elif facts.newest_event_at is None:
        level = Level.ERROR
        problems.append(
            "no row computed in the last 30 days at or before now: is the dbt run scheduled, and does raw data arrive?"
        )
    else:
        judged, problem = _judge(facts.now - facts.newest_event_at, limits, "newest event time")
        level = max(level, judged)
        if problem:
            problems.append(problem)
    if group.online and online is not None:
        if online.error:
            level = Level.ERROR
            problems.append(f"online store: {online.error}")
        elif online.marker is None:
            level = Level.ERROR
            problems.append("online but never synced: run `featurestore sync`")
        elif online.marker.valid_until is None:
            level = max(level, Level.WARN)
            problems.append("last sync predates sync times: run `featurestore sync`")
        else:
            judged, problem = _judge(facts.now - online.marker.valid_until, limits, "last sync")
            level = max(level, judged)
            if problem:
                problems.append(problem + ": run `featurestore sync` after each dbt run")
    return GroupStatus(group, facts, limits, online if group.online else None, level, tuple(problems), last_success_at)


def overall(statuses: Mapping[str, GroupStatus] | list[GroupStatus]) -> Level:
    values = statuses.values() if isinstance(statuses, Mapping) else statuses
    return max((status.level for status in values), default=Level.OK)


def format_duration(value: timedelta) -> str:
    """A short, human duration: `45s`, `12m`, `3h 5m`, `2d 4h`; negative durations get a minus sign."""
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{sign}{days}d" + (f" {hours}h" if hours else "")
    if hours:
        return f"{sign}{hours}h" + (f" {minutes}m" if minutes else "")
    if minutes:
        return f"{sign}{minutes}m"
    return f"{sign}{seconds}s"


def online_facts(store: OnlineStore, group: str, *, exact_counts: bool = False) -> OnlineFacts:
    try:
        return OnlineFacts(store.get_marker(group), store.item_count(group, exact=exact_counts))
    except FeatureStoreError as error:
        return OnlineFacts(None, None, error=str(error))


def collect_statuses(
    groups: Iterable[FeatureGroup],
    run: QueryRunner,
    online_store: OnlineStore | None,
    now: datetime,
    *,
    with_stats: bool = False,
    exact_counts: bool = False,
    successes: Mapping[str, datetime] | None = None,
) -> dict[str, GroupStatus]:
    """The status of each group at `now` (naive UTC); `online_store` None skips the online side; `successes`:
    the last successful dbt run per node id (dbt_successes)."""
    statuses = {}
    for group in groups:
        facts = read_facts(group, run, now, with_stats=with_stats)
        online = (
            online_facts(online_store, group.name, exact_counts=exact_counts)
            if group.online and online_store is not None
            else None
        )
        statuses[group.name] = group_status(group, facts, online, (successes or {}).get(group.unique_id))
    return statuses


def dbt_successes(run_results: Path) -> dict[str, datetime]:
    """Node id -> when its run finished (naive UTC), for the nodes that succeeded in the dbt invocation that
    wrote `run_results` (target/run_results.json: only the last invocation there, on this machine); empty when
    the file is missing or unreadable, as in a checkout where dbt runs elsewhere."""
    try:
        document = json.loads(run_results.read_text(encoding="utf-8"))
        # compile, docs generate, test, ... also write the file: only runs and builds built anything.
        if document.get("args", {}).get("which") not in ("run", "build"):
            return {}
        results = document.get("results", [])
    except (OSError, ValueError, AttributeError):
        return {}
    finished = {}
    for result in results:
        if result.get("status") != "success":
            continue
        times = [timing.get("completed_at") for timing in result.get("timing") or [] if timing.get("completed_at")]
        if times:
            finished[result["unique_id"]] = max(
                naive_utc(datetime.fromisoformat(text.replace("Z", "+00:00"))) for text in times
            )
    return finished
