"""Helpers of the online-store tests: synthetic feature groups in a small DuckDB offline store, and the
item-by-item comparison of an online store with the offline latest values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from featurestore.core.contract import Feature, FeatureGroup, parse_group_ttl
from featurestore.core.keys import encode_key
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.online.base import OnlineStore

BASE_TIME = dt.datetime(2026, 10, 1)
FAR_FUTURE = dt.datetime(2100, 1, 1)

# name -> (DuckDB type, contract data_type)
FEATURE_COLUMNS = {
    "count_7d": ("bigint", "bigint"),
    "ratio_7d": ("double", "double"),
    "label": ("varchar", "varchar"),
    "flag": ("boolean", "boolean"),
    "seen_at": ("timestamp", "timestamp"),
    "scores": ("bigint[]", "array<bigint>"),
}


def make_group(
    name: str = "fg_test",
    *,
    entity: Sequence[tuple[str, str]] = (("user_id", "bigint"),),
    online: bool = True,
    ttl: str = "3650d",
    relation: str | None = None,
    features: Sequence[tuple[str, str]] | None = None,
) -> FeatureGroup:
    """A group of the entity columns and `features` ((name, data_type); default: FEATURE_COLUMNS)."""
    declared = features if features is not None else [(name, kind) for name, (_, kind) in FEATURE_COLUMNS.items()]
    return FeatureGroup(
        name=name,
        unique_id=f"model.test.{name}",
        relation_name=relation or f"main.{name}",
        description="",
        entity=tuple(column for column, _ in entity),
        event_time="effective_at",
        online=online,
        ttl=parse_group_ttl(ttl),
        ttl_text=ttl,
        owner="tests",
        tags=(),
        features=tuple(Feature(column, data_type, column) for column, data_type in declared),
        entity_types=tuple(data_type for _, data_type in entity),
    )


def values_for(seed: int) -> dict[str, Any]:
    """Distinct, deterministic feature values (with NULLs) for a seed."""
    return {
        "count_7d": seed * 3,
        "ratio_7d": None if seed % 7 == 0 else seed / 9,
        "label": f"label-{seed}" if seed % 5 else "",
        "flag": seed % 2 == 0,
        "seen_at": BASE_TIME + dt.timedelta(seconds=seed, microseconds=seed % 997),
        "scores": [seed, -seed, 0] if seed % 4 else [],
    }


@dataclass
class OfflineTable:
    """A feature group's table in a DuckDB file, written the way the dbt merge does (computed_at = run time)."""

    path: Path
    group: FeatureGroup
    run_clock: dt.datetime = dt.datetime(2026, 11, 1)

    def __post_init__(self) -> None:
        entity_columns = ", ".join(
            f"{column} {'varchar' if data_type == 'varchar' else 'bigint'}"
            for column, data_type in zip(self.group.entity, self.group.entity_types, strict=True)
        )
        features = ", ".join(f"{name} {duck}" for name, (duck, _) in FEATURE_COLUMNS.items())
        table = self.group.relation_name.split(".")[-1]
        with duckdb.connect(str(self.path)) as connection:
            connection.execute(
                f"create table {table} ({entity_columns}, effective_at timestamp, {features}, computed_at timestamp, "
                f"primary key ({', '.join(self.group.entity)}, effective_at))"
            )

    def next_run(self) -> dt.datetime:
        """A new dbt run's start time, later than every earlier one."""
        self.run_clock += dt.timedelta(minutes=5)
        return self.run_clock

    def upsert(self, rows: Iterable[tuple[Sequence[Any], dt.datetime, Mapping[str, Any]]]) -> dt.datetime:
        """Merge rows (entity key, event time, values) in one run; only changed rows get the new computed_at."""
        computed_at = self.next_run()
        table = self.group.relation_name.split(".")[-1]
        keys = [*self.group.entity, "effective_at"]
        records = [
            {**dict(zip(self.group.entity, key, strict=True)), "effective_at": event_time, **values}
            for key, event_time, values in rows
        ]
        with duckdb.connect(str(self.path)) as connection:
            target = connection.sql(f"select * exclude (computed_at) from {table} limit 0").arrow()
            staged = pa.Table.from_pylist(records, schema=target.schema)  # noqa: F841 (read by DuckDB by name)
            on = " and ".join(f"t.{c} = s.{c}" for c in keys)
            changed = " or ".join(f"t.{c} is distinct from s.{c}" for c in FEATURE_COLUMNS)
            connection.execute(f"delete from {table} t using staged s where {on} and ({changed})")
            connection.execute(
                f"insert into {table} select s.*, ? from staged s "
                f"where not exists (select 1 from {table} t where {on})",
                [computed_at],
            )
        return computed_at

    def remove(self, entities: Iterable[Sequence[Any]]) -> None:
        """Delete every row of these entities, as a backfill whose new logic no longer produces them does."""
        table = self.group.relation_name.split(".")[-1]
        condition = " and ".join(f"{column} = ?" for column in self.group.entity)
        with duckdb.connect(str(self.path)) as connection:
            for key in entities:
                connection.execute(f"delete from {table} where {condition}", list(key))

    def latest(self, as_of: dt.datetime = FAR_FUTURE) -> dict[str, tuple[dt.datetime, dict[str, Any]]]:
        """Each entity's row valid at `as_of` (its latest with event time <= as_of; by default its latest):
        encoded key -> (event time, values); the oracle of the comparisons, in Python, not SQL."""
        table = self.group.relation_name.split(".")[-1]
        with duckdb.connect(str(self.path), read_only=True) as connection:
            rows = connection.execute(f"select * from {table}").fetchall()
            names = [d[0] for d in connection.description]  # type: ignore[union-attr]
        latest: dict[str, tuple[dt.datetime, dict[str, Any]]] = {}
        for row in rows:
            record = dict(zip(names, row, strict=True))
            if record["effective_at"] > as_of:
                continue
            key = encode_key([record[column] for column in self.group.entity])
            if key not in latest or record["effective_at"] > latest[key][0]:
                latest[key] = (record["effective_at"], {name: record[name] for name in FEATURE_COLUMNS})
        return latest


def online_mismatches(
    store: OnlineStore, table: OfflineTable, extra_keys: Sequence[str] = (), as_of: dt.datetime = FAR_FUTURE
) -> list[str]:
    """Differences between the online store and the offline values valid at `as_of` (default: the latest),
    item by item, including entities whose only rows lie after `as_of` ([] when equal)."""
    expected = table.latest(as_of)
    keys = [*dict.fromkeys([*table.latest(), *extra_keys])]
    stored = store.read(table.group, keys, list(FEATURE_COLUMNS))
    problems = []
    for key, found in zip(keys, stored, strict=True):
        if key not in expected:
            if found is not None:
                problems.append(f"{key}: online has {found}, offline has no row of it at or before {as_of}")
            continue
        event_time, values = expected[key]
        if found is None:
            problems.append(f"{key}: missing online")
        elif found.event_time != event_time or dict(found.values) != values:
            problems.append(f"{key}: online {found.event_time} {dict(found.values)} != offline {event_time} {values}")
    return problems


def catalog_of(*groups: FeatureGroup) -> FeatureGroupCatalog:
    return FeatureGroupCatalog({group.name: group for group in groups})
