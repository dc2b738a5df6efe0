"""Training sets from Python: a spine (labels with a timestamp) joined point-in-time to feature groups.

The join is the dbt macro `point_in_time_join` itself, compiled in-process by dbt (see dbt_compiler.py), so a
notebook gets exactly what a training-set model in the dbt project gets. Locally the spine is registered in an
in-memory DuckDB that attaches the offline store read-only; on Athena it is uploaded as Parquet behind a
temporary table (athena_training_sets.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from featurestore.candidates import (
    Candidate,
    ResolvedCandidate,
    by_name,
    candidate_table,
    check_candidates,
    quoted,
    relation_name,
    table_relation,
)
from featurestore.dbt_compiler import DbtCompiler
from featurestore.duckdb_files import attach_offline_store, database_of
from featurestore.errors import OfflineStoreError, TrainingSetError
from featurestore.frames import SPINE_ROW_COLUMN, arrow_table, is_parquet_path, join_spine, with_spine_columns
from featurestore.manifest import FeatureGroupCatalog

FEATURE_SEPARATOR = ":"
SpineInput = pa.Table | str | Any  # an Arrow table, a pandas DataFrame, a Parquet path, or the name of a table


class TrainingSetSource(Protocol):
    """An offline store that builds training sets (LocalTrainingSets, AthenaTrainingSets)."""

    def get(self, spine: SpineInput, request: TrainingSetRequest) -> pa.Table: ...


@dataclass(frozen=True)
class TrainingSetRequest:
    """What to join to a spine. `features` are `group:feature` names; see FeatureStore.get_training_set."""

    features: Sequence[str]
    spine_time: str
    keys: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    inclusive: bool = True
    ttl: Mapping[str, str] = field(default_factory=dict)
    full_feature_names: bool = True
    # Feature tables that are not models yet, requested as "<candidate name>:<column>" (see candidates.py).
    candidates: Sequence[Candidate] = ()

    def feature_groups(
        self, catalog: FeatureGroupCatalog, candidates: Mapping[str, ResolvedCandidate] | None = None
    ) -> list[dict[str, Any]]:
        """The `feature_groups` argument of point_in_time_join, groups in order of first mention; a candidate's
        entry carries its contract inline."""
        if isinstance(self.features, str) or not self.features:
            raise TrainingSetError("features must be a non-empty list of 'group:feature' names")
        candidates = candidates or {}
        wanted: dict[str, list[str]] = {}
        for name in self.features:
            group_name, separator, feature = name.partition(FEATURE_SEPARATOR)
            if not separator or not group_name or not feature:
                raise TrainingSetError(
                    f"feature {name!r} must be written 'group:feature', e.g. 'user_engagement:clicks_7d'"
                )
            if group_name in candidates:
                feature_names = candidates[group_name].feature_names
            else:
                feature_names = catalog.get(group_name).feature_names
            if feature not in feature_names:
                raise TrainingSetError(
                    f"'{feature}' is not a feature of '{group_name}'; its features: {', '.join(feature_names)}"
                )
            if feature in wanted.setdefault(group_name, []):
                raise TrainingSetError(f"feature {name!r} is requested twice")
            wanted[group_name].append(feature)
        for option, mapping in (("keys", self.keys), ("ttl", self.ttl)):
            for group_name in mapping:
                if group_name not in wanted:
                    raise TrainingSetError(f"{option} names '{group_name}', which no requested feature belongs to")
        entries = []
        for group_name, features in wanted.items():
            entry: dict[str, Any] = {"group": group_name, "features": features}
            if self.full_feature_names:
                entry["prefix"] = f"{group_name}__"
            if group_name in self.keys:
                entry["keys"] = dict(self.keys[group_name])
            if group_name in self.ttl:
                entry["ttl"] = self.ttl[group_name]
            if group_name in candidates:
                entry["candidate"] = candidates[group_name].contract()
            entries.append(entry)
        return entries


def key_columns(entries: Sequence[Mapping[str, Any]], catalog: FeatureGroupCatalog) -> list[str]:
    """The spine columns that the entries join on (keys mapped, or the entity columns' own names)."""
    columns: list[str] = []
    for entry in entries:
        candidate = entry.get("candidate")
        entity = candidate["entity"] if candidate else catalog.get(entry["group"]).entity
        keys = entry.get("keys", {})
        columns += [keys.get(column, column) for column in entity]
    return list(dict.fromkeys(columns))


def point_in_time_call(
    request: TrainingSetRequest,
    feature_groups: Sequence[Mapping[str, Any]],
    spine_relation: str,
    spine_columns: Sequence[str],
    time_bounds: tuple[datetime, datetime] | None,
) -> str:
    """The Jinja call of the macro for this request (JSON literals are valid Jinja literals)."""
    arguments = [
        f"spine={json.dumps(spine_relation)}",
        f"spine_time={json.dumps(request.spine_time)}",
        f"feature_groups={json.dumps(list(feature_groups))}",
        f"inclusive={json.dumps(bool(request.inclusive))}",
        f"spine_columns={json.dumps(list(spine_columns))}",
    ]
    if time_bounds is not None:
        arguments.append(f"time_bounds={json.dumps([bound.isoformat(sep=' ') for bound in time_bounds])}")
    return "{{ featurestore.point_in_time_join(" + ", ".join(arguments) + ") }}"


def spine_table(spine: Any, spine_time: str, key_columns: Sequence[str] = ()) -> tuple[pa.Table, pa.Table]:
    """The spine as Arrow (as it went in) and the part of it that goes through the join (frames.join_spine)."""
    table = arrow_table(spine, "the spine")
    return table, join_spine(table, spine_time, key_columns)


def time_bounds_of(table: pa.Table, spine_time: str) -> tuple[datetime, datetime] | None:
    """The [min, max] of the spine's label times, or None when every one is null."""
    bounds = pc.min_max(table[spine_time])
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    return None if low is None else (low, high)


class LocalTrainingSets:
    """Training sets from the local offline store (the DuckDB file of the `local` dbt target)."""

    def __init__(self, duckdb_path: Path, compiler: DbtCompiler, catalog: FeatureGroupCatalog) -> None:
        self.duckdb_path = duckdb_path
        self.compiler = compiler
        self.catalog = catalog

    def _connect(self) -> duckdb.DuckDBPyConnection:
        connection = duckdb.connect()
        # Our own session: UTC, so that zoned values come back in UTC (the join itself does not depend on it).
        connection.execute("set TimeZone = 'UTC'")
        databases = sorted({database_of(group.relation_name, self.duckdb_path) for group in self.catalog})
        if len(databases) > 1:
            raise OfflineStoreError(f"the manifest's feature groups live in several databases: {', '.join(databases)}")
        try:
            attach_offline_store(connection, self.duckdb_path, databases[0] if databases else self.duckdb_path.stem)
        except BaseException:
            connection.close()
            raise
        return connection

    def _resolve_candidates(
        self, connection: duckdb.DuckDBPyConnection, request: TrainingSetRequest
    ) -> list[ResolvedCandidate]:
        check_candidates(request.candidates, self.catalog)
        resolved = []
        for index, candidate in enumerate(request.candidates):
            if candidate.is_relation:
                relation = quoted(relation_name(candidate.data, candidate.name))
                try:
                    columns = tuple(connection.sql(f"select * from {relation} limit 0").columns)
                except duckdb.Error as error:
                    raise TrainingSetError(
                        f"candidate '{candidate.name}': cannot read the table {candidate.data!r}: {error}"
                    ) from error
                resolved.append(ResolvedCandidate(candidate, relation, columns))
            else:
                table = candidate_table(candidate)
                relation = table_relation(candidate, index)
                connection.register(relation, table)
                resolved.append(ResolvedCandidate(candidate, relation, tuple(table.column_names), table))
        return resolved

    def get(self, spine: SpineInput, request: TrainingSetRequest) -> pa.Table:
        connection = self._connect()
        try:
            if isinstance(spine, str) and not is_parquet_path(spine):
                try:
                    relation = connection.sql(f"select * from {spine}")
                except duckdb.Error as error:
                    raise TrainingSetError(f"cannot read the spine table {spine!r}: {error}") from error
                spine = relation.to_arrow_table()
            candidates = by_name(self._resolve_candidates(connection, request))
            entries = request.feature_groups(self.catalog, candidates)
            table, joined = spine_table(spine, request.spine_time, key_columns(entries, self.catalog))
            connection.register("featurestore_spine", joined)
            sql = self.compiler.compile(
                point_in_time_call(
                    request,
                    entries,
                    "featurestore_spine",
                    joined.column_names,
                    time_bounds_of(joined, request.spine_time),
                )
            )
            self._use_database_of(connection, sql)
            try:
                result = connection.sql(f"select * from ({sql}) order by {SPINE_ROW_COLUMN}").to_arrow_table()
            except duckdb.Error as error:
                raise TrainingSetError(f"the training-set query failed: {error}") from error
        finally:
            connection.close()
        return with_spine_columns(table, result, joined.column_names)

    def _use_database_of(self, connection: duckdb.DuckDBPyConnection, sql: str) -> None:
        """Attach the offline store under the database that the compiled SQL names, when it differs (dbt parsed
        the project with another file configured): the file is resolved, not the name."""
        named = sorted(set(_QUALIFIED_DATABASE.findall(sql)))
        ((current,),) = connection.sql("select current_database()").fetchall()
        if len(named) == 1 and named[0] != current:
            connection.execute("use memory")
            connection.execute(f'detach "{current}"')
            attach_offline_store(connection, self.duckdb_path, named[0])


# A three-part relation name as dbt renders it: "database"."schema"."table".
_QUALIFIED_DATABASE = re.compile(r'"([^"]+)"\."[^"]+"\."[^"]+"')
