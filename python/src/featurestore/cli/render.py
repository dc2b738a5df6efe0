"""What the CLI prints: Rich tables, progress bars and summary lines, apart from the commands' logic."""

from __future__ import annotations

import datetime as dt
import math
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
    from featurestore.core.contract import FeatureGroup
    from featurestore.core.manifest import FeatureGroupCatalog
    from featurestore.core.settings import Settings
    from featurestore.online.sync import GroupSyncSummary

console = Console()
error_console = Console(stderr=True)


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


def groups_table(catalog: FeatureGroupCatalog) -> Table:
    table = Table(title=f"{len(catalog)} feature group(s)")
    # On a narrow terminal, fold long names onto more lines rather than cut them off.
    for column in ("group", "entity", "event time", "online", "ttl", "features", "owner"):
        table.add_column(column, justify="right" if column == "features" else "left", overflow="fold")
    for group in catalog:
        table.add_row(
            group.name,
            ", ".join(group.entity),
            group.event_time,
            "yes" if group.online else "no",
            group.ttl_text,
            str(len(group.features)),
            group.owner,
        )
    return table


def rows_table(group: FeatureGroup, rows: pa.Table, at: dt.datetime | None) -> Table:
    """Rows of a group, transposed: feature groups are wide, so one line per column and one column per
    entity row fits a terminal."""
    title = f"{group.name}" + (f" as of {at.isoformat(sep=' ')} UTC" if at else " (newest rows)")
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
    # Slices, not take(list): pyarrow imports pandas (seconds) to convert a Python list of indices.
    rows = [row for index in picked for row in table.slice(index, 1).to_pylist()]
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
