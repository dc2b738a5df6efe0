"""What the CLI prints: Rich tables, progress bars and summary lines, apart from the commands' logic."""

from __future__ import annotations

import datetime as dt
import math
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from featurestore.core.value_codec import non_finite_text

if TYPE_CHECKING:  # for annotations only: the CLI imports the heavier modules when a command needs them
    import pyarrow as pa

    from featurestore.aws.raw_data import ScannedBytes
    from featurestore.catalog import CatalogEntry, GroupStatus, SearchHit
    from featurestore.core.contract import FeatureGroup
    from featurestore.core.settings import Settings
    from featurestore.online.base import ItemCount
    from featurestore.online.sync import GroupSyncSummary

console = Console()
error_console = Console(stderr=True)
# Catalog and status tables are wide; written to a log or a pipe (cron, Airflow, `make demo`), they get 160
# columns instead of rich's 80 unless COLUMNS says otherwise; a terminal folds them to its width.
wide_console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160)


def format_cell(value: object) -> str:
    if value is None:
        return "∅"
    if isinstance(value, float):
        return f"{value:.3f}" if math.isfinite(value) else str(non_finite_text(value))
    if isinstance(value, list):
        return "[" + ", ".join(format_cell(item) for item in value) + "]"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


@contextmanager
def progress_bar(label: str, unit: str, *, transient: bool = True) -> Iterator[Progress]:
    """A progress bar `<label> ━━━ done/total <unit> elapsed` on the console; `label` may use {task.description}."""
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
    ) as progress:
        yield progress


def rows_table(group: FeatureGroup, rows: pa.Table, at: dt.datetime, *, now: bool) -> Table:
    """Rows of a group valid at `at` (`now`: the current time, not a time asked for), transposed: feature
    groups are wide, so one line per column and one column per entity row fits a terminal."""
    title = f"{group.name} as of {at.isoformat(sep=' ', timespec='seconds')} UTC" + (" (now)" if now else "")
    records = rows.to_pylist()
    table = Table(title=title)
    table.add_column("column", style="bold", no_wrap=True)
    for record in records:
        label = "/".join(format_cell(record[key]) for key in group.entity)
        table.add_column(label, justify="right")
    for name in rows.column_names:
        if name in group.entity:
            continue
        table.add_row(name, *(format_cell(record[name]) for record in records))
    return table


class RichSyncProgress:
    """The sync's progress bar: one task per group."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def start(self, group: str, total: int) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
        self.task = self.progress.add_task(group, total=total)

    def advance(self, count: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, count)


def sync_line(summary: GroupSyncSummary, settings: Settings, *, full: bool) -> str:
    """One line per synced group (a table would be cut on a narrow terminal)."""
    return (
        f"[bold]{summary.group}[/bold]: {'full load' if summary.full_load else 'changes'} as of "
        f"{summary.now.isoformat(sep=' ', timespec='seconds')} UTC, "
        f"{summary.rows_read:,} rows read, {summary.items_written:,} items written, "
        f"{summary.skipped_stale:,} skipped as stale, "
        + (f"{summary.items_deleted:,} deleted (gone offline), " if full else "")
        # Capacity units are DynamoDB's billing; sqlite has none.
        + (
            f"{summary.write_units:,.1f} write units, {summary.read_units:,.1f} read units, "
            f"{summary.retries:,} retries, "
            if settings.online.backend == "dynamodb"
            else ""
        )
        + f"{summary.seconds:.2f} s"
    )


def behind_warning(summary: GroupSyncSummary) -> str | None:
    """A warning when the sync's time was before its last sync's (its marker was not advanced)."""
    if summary.behind and summary.marker is not None and summary.marker.valid_until is not None:
        return (
            f"[yellow]{summary.group}: this sync's time is before its last sync's "
            f"({summary.marker.valid_until.isoformat(sep=' ')} UTC): the store keeps the values valid "
            "then where they are newer; sync marker not advanced (see docs/online_store.md)[/yellow]"
        )
    return None


def online_description(settings: Settings) -> str:
    online = settings.online
    if online.backend == "sqlite":
        return f"sqlite {online.sqlite_path}"
    where = online.dynamodb_endpoint_url or online.dynamodb_region or "default region"
    return f"DynamoDB {where} (tables {online.dynamodb_table_prefix}*)"


def training_set_table(table: pa.Table, limit: int, out: object | None) -> Table:
    """A few rows spread over the whole set (its first rows often predate any feature history), one per
    column of the display: training sets are wider than a terminal."""
    count = min(max(limit, 0), table.num_rows)
    picked = sorted({index * (table.num_rows - 1) // max(count - 1, 1) for index in range(count)})
    shown = Table(
        title=f"{table.num_rows:,} rows, {table.num_columns} columns" + (f", written to {out}" if out else "")
    )
    shown.add_column("column", no_wrap=True)
    for index in picked:
        shown.add_column(f"row {index + 1:,}", overflow="fold")
    rows = table.take(picked).to_pylist()
    for name in table.column_names:
        shown.add_row(name, *(format_cell(row[name]) for row in rows))
    return shown


def online_table(
    group: str, row: dict[str, str], features: Sequence[str], values: Sequence[Any], statuses: Sequence[object]
) -> Table:
    table = Table(title=f"{group} " + ", ".join(f"{k}={v}" for k, v in row.items()) + " (online)")
    table.add_column("feature", style="bold", no_wrap=True)
    table.add_column("value", justify="right")
    table.add_column("status")
    for name, value, status in zip(features, values, statuses, strict=True):
        table.add_row(name, format_cell(value), str(status))
    return table


def scanned_table(rows: Sequence[ScannedBytes], source: object) -> Table:
    table = Table(title=f"data scanned per node ({source})")
    table.add_column("node", overflow="fold")
    table.add_column("status")
    table.add_column("scanned", justify="right")
    for row in rows:
        table.add_row(row.node, row.status, "?" if row.bytes is None else f"{row.bytes / 1e6:,.1f} MB")
    return table


# By int(Level): 0 ok, 1 warn, 2 error (catalog.freshness.Level, also the exit code of `status`).
LEVEL_STYLE = ("[green]ok[/green]", "[yellow]warn[/yellow]", "[red]error[/red]")


def _lag(status: GroupStatus | None) -> str:
    from featurestore.catalog.freshness import format_duration

    if status is None:
        return "?"
    if not status.facts.built:
        return "not built"
    return format_duration(status.lag) if status.lag is not None else "no rows"


def _items(count: ItemCount | None) -> str:
    if count is None:
        return "none"
    return f"{count.items:,}" if count.exact else f"~{count.items:,}"


def _time(value: dt.datetime | None) -> str:
    # Minutes: the status table has many columns for a terminal; lags are shown to the second.
    return value.isoformat(sep=" ", timespec="minutes") if value is not None else "-"


def groups_table(entries: Sequence[CatalogEntry], freshness_at: dt.datetime | None) -> Table:
    """`featurestore list`: one row per group; the lag column when `freshness_at` is given."""
    title = f"{len(entries)} feature group(s)"
    table = Table(title=title + (f", freshness as of {freshness_at:%Y-%m-%d %H:%M} UTC" if freshness_at else ""))
    # On a narrow terminal, fold long names onto more lines rather than cut them off.
    for column in ("group", "entity", "event time", "online", "ttl", "features", "owner", "tags", "lag", "used by"):
        table.add_column(column, justify="right" if column in ("features", "used by") else "left", overflow="fold")
    for entry in entries:
        group = entry.group
        table.add_row(
            group.name,
            ", ".join(group.entity),
            group.event_time,
            "yes" if group.online else "no",
            group.ttl_text,
            str(len(group.features)),
            group.owner,
            ", ".join(group.tags),
            (f"{_lag(entry.status)} {LEVEL_STYLE[entry.status.level]}" if entry.status else "-"),
            str(len(entry.usages)),
        )
    return table


def group_facts_table(entry: CatalogEntry) -> Table:
    """`featurestore describe`: a group's contract, views and freshness, one fact per line."""
    from featurestore.catalog.site import freshness_lines

    spec = entry.group
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim", no_wrap=True)
    facts.add_column(overflow="fold")
    facts.add_row("entity", ", ".join(spec.entity))
    facts.add_row("event time", spec.event_time)
    facts.add_row("owner", spec.owner)
    facts.add_row("tags", ", ".join(spec.tags) or "none")
    facts.add_row("online", "yes" if spec.online else "no")
    facts.add_row("ttl", spec.ttl_text)
    facts.add_row("table", spec.relation_name)
    facts.add_row("views", ", ".join(entry.views))
    for index, line in enumerate(freshness_lines(entry)):
        facts.add_row("freshness" if index == 0 else "", line)
    return facts


def features_table(entry: CatalogEntry) -> Table:
    """`featurestore describe`: each feature with its statistics over the last day of rows."""
    from featurestore.catalog.site import format_value

    stats_from = entry.status.facts.stats_from if entry.status else None
    table = Table(
        title="features"
        + (f" (statistics over rows after {stats_from:%Y-%m-%d %H:%M}, the last day of rows)" if stats_from else "")
    )
    for column in ("feature", "type", "description", "rows", "null", "min", "max", "mean"):
        table.add_column(
            column, overflow="fold", justify="right" if column in ("rows", "null", "min", "max", "mean") else "left"
        )
    for feature in entry.group.features:
        stats = entry.stats(feature.name)
        table.add_row(
            feature.name,
            feature.data_type,
            feature.description,
            format_value(stats.rows) if stats else "-",
            f"{stats.null_share:.1%}" if stats and stats.null_share is not None else "-",
            format_value(stats.minimum) if stats else "-",
            format_value(stats.maximum) if stats else "-",
            format_value(stats.mean) if stats else "-",
        )
    return table


def search_table(hits: Sequence[SearchHit], text: str) -> Table:
    table = Table(title=f"{len(hits)} feature group(s) match {text!r}")
    for column in ("group", "matched in", "features"):
        table.add_column(column, overflow="fold")
    for hit in hits:
        table.add_row(hit.entry.group.name, ", ".join(hit.matched) or "features", ", ".join(hit.features) or "-")
    return table


def status_table(entries: Sequence[CatalogEntry], at: dt.datetime) -> Table:
    """`featurestore status`: offline and online freshness of each group."""
    from featurestore.catalog.freshness import format_duration

    table = Table(title=f"feature group status as of {at:%Y-%m-%d %H:%M:%S} UTC")
    for column in (
        "group",
        "status",
        "newest event",
        "lag",
        "warn/error",
        "last run",
        "last change",
        "online",
        "synced as of",
        "sync lag",
        "items",
    ):
        table.add_column(column, overflow="fold")
    for entry in entries:
        status = entry.status
        if status is None:
            continue
        online = status.online
        table.add_row(
            entry.group.name,
            LEVEL_STYLE[status.level],
            _time(status.facts.newest_event_at),
            _lag(status),
            f"{format_duration(status.thresholds.warn_after)}/{format_duration(status.thresholds.error_after)}",
            _time(status.last_success_at),
            _time(status.facts.last_run_at),
            "yes" if entry.group.online else "no",
            _time(status.last_sync_at) if online else "-",
            format_duration(status.sync_lag) if status.sync_lag is not None else "-",
            _items(online.items) if online else "-",
        )
    return table
