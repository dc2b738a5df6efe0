"""`featurestore maintain`: compaction and snapshot expiry of the feature groups' Iceberg tables on Athena.

Every micro-batch MERGE adds data files and delete files to the daily partitions it touches (the
late-arrival lookback and, for groups that pre-compute rows as events leave their windows, up to a
window's length ahead), and a snapshot per commit; Athena reads get slower and costlier as they pile up.
Per group, under its writer lease (offline/writer_lease.py: never while a micro-batch or backfill writes it):

1. `ALTER TABLE ... SET TBLPROPERTIES` with the group's snapshot retention (from the model's
   `config.meta.iceberg_maintenance`, defaults below): set on every run, so a table a full refresh
   recreated gets them again;
2. `OPTIMIZE ... REWRITE DATA USING BIN_PACK WHERE <event time> >= timestamp '<day>'`: only the recent
   partitions (a literal at a day boundary, on the partition column's source, so whole daily
   partitions are selected); Athena rewrites only the files there that are small or carry deletes;
3. `VACUUM`: expires snapshots older than the retention and removes the files only they referenced.

Athena User Guide: "OPTIMIZE", "VACUUM", "ALTER TABLE SET TBLPROPERTIES" (Iceberg table properties
vacuum_max_snapshot_age_seconds, vacuum_min_snapshots_to_keep).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from featurestore.core.contract import FeatureGroup
from featurestore.core.errors import MaintenanceConfigError

META_KEY = "iceberg_maintenance"


@dataclass(frozen=True)
class MaintenancePolicy:
    """How a group's table is maintained. `optimize_days`: the partitions compacted, days back from today's
    (the merges' reach: lookback plus pre-computed rows); snapshots older than `max_snapshot_age_hours` are
    expired, keeping at least `min_snapshots_to_keep`. A query running longer than the age may find its
    snapshot's files gone."""

    optimize_days: int = 35
    max_snapshot_age_hours: int = 24
    min_snapshots_to_keep: int = 1

    @classmethod
    def from_meta(cls, model: str, meta: Mapping[str, Any]) -> MaintenancePolicy:
        settings = meta.get(META_KEY) or {}
        if not isinstance(settings, Mapping):
            raise MaintenanceConfigError(model, META_KEY, f"must be a mapping, got {settings!r}")
        unknown = set(settings) - {"optimize_days", "max_snapshot_age_hours", "min_snapshots_to_keep"}
        if unknown:
            raise MaintenanceConfigError(model, META_KEY, f"unknown key(s) {', '.join(sorted(unknown))}")
        values = {}
        for name, default in (
            ("optimize_days", cls.optimize_days),
            ("max_snapshot_age_hours", cls.max_snapshot_age_hours),
            ("min_snapshots_to_keep", cls.min_snapshots_to_keep),
        ):
            value = settings.get(name, default)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise MaintenanceConfigError(
                    model, f"{META_KEY}.{name}", f"must be a whole number of at least 1, got {value!r}"
                )
            values[name] = value
        return cls(**values)


def policies(manifest: Mapping[str, Any], groups: Sequence[FeatureGroup]) -> dict[str, MaintenancePolicy]:
    """Each group's policy from its model's config.meta in the manifest."""
    nodes = manifest.get("nodes", {})
    found = {}
    for group in groups:
        node = nodes.get(group.unique_id, {})
        meta = node.get("config", {}).get("meta") or node.get("meta") or {}
        found[group.name] = MaintenancePolicy.from_meta(group.name, meta)
    return found


def _ddl_name(relation_name: str) -> str:
    """`"catalog"."schema"."table"` as Athena's DDL (Hive) statements name it: `schema`.`table`."""
    parts = [part.strip('"') for part in relation_name.split(".")]
    return ".".join(f"`{part}`" for part in parts[-2:])


def maintenance_statements(group: FeatureGroup, policy: MaintenancePolicy, today: dt.date) -> list[str]:
    """The statements of one group's maintenance, in order (see the module docstring)."""
    since = dt.datetime.combine(today - dt.timedelta(days=policy.optimize_days), dt.time())
    relation = group.relation_name
    return [
        f"alter table {_ddl_name(relation)} set tblproperties ("
        f"'vacuum_max_snapshot_age_seconds'='{policy.max_snapshot_age_hours * 3600}', "
        f"'vacuum_min_snapshots_to_keep'='{policy.min_snapshots_to_keep}')",
        f"optimize {relation} rewrite data using bin_pack "
        f"where {group.event_time} >= timestamp '{since.isoformat(sep=' ')}'",
        f"vacuum {relation}",
    ]


def files_query(group: FeatureGroup) -> str:
    """Data and delete files of the group's current snapshot (Iceberg's `$files` metadata table)."""
    *prefix, table = [part.strip('"') for part in group.relation_name.split(".")]
    files_table = ".".join([*(f'"{part}"' for part in prefix), f'"{table}$files"'])
    return (
        "select count(*) as files, count_if(content <> 0) as delete_files, "
        f"coalesce(sum(file_size_in_bytes), 0) as bytes from {files_table}"
    )


@dataclass(frozen=True)
class FileCounts:
    files: int
    delete_files: int
    bytes: int


Execute = Callable[[str, str], Any]
"""Runs one statement on Athena (`sql`, `what` for the error message); returns its rows as a pyarrow Table."""


def file_counts(group: FeatureGroup, execute: Execute) -> FileCounts:
    table = execute(files_query(group), f"counting the files of feature group '{group.name}'")
    row = table.to_pylist()[0] if table.num_rows else {"files": 0, "delete_files": 0, "bytes": 0}
    return FileCounts(int(row["files"] or 0), int(row["delete_files"] or 0), int(row["bytes"] or 0))


def maintain_group(
    group: FeatureGroup,
    policy: MaintenancePolicy,
    execute: Execute,
    today: dt.date,
    on_statement: Callable[[str], None] | None = None,
) -> None:
    """Run the group's maintenance statements one after the other (the caller holds its writer lease)."""
    for sql in maintenance_statements(group, policy, today):
        if on_statement:
            on_statement(sql)
        execute(sql, f"maintaining feature group '{group.name}' ({sql.split(' ', 1)[0].upper()})")
