"""Training sets from Python, the engine-neutral part: the request, the spine, and the macro call.

The join is the dbt macro `point_in_time_join` itself, compiled in-process by dbt (see core/dbt_compiler.py), so
a notebook gets exactly what a training-set model in the dbt project gets. Each engine runs it its own way:
locally the spine is registered in an in-memory DuckDB that attaches the offline store read-only
(offline/duckdb/training_sets.py); on Athena it is uploaded as Parquet behind a temporary table
(offline/athena/training_sets.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from featurestore.core.contract import FeatureRef
from featurestore.core.dbt_compiler import DbtCompiler
from featurestore.core.errors import TrainingSetError
from featurestore.core.identifiers import column_name_problem, quoted_table_name, shorten, table_name_problem
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.offline.candidates import Candidate, ResolvedCandidate
from featurestore.offline.frames import SPINE_ROW_COLUMN, arrow_table, join_spine

__all__ = [
    "SPINE_ROW_COLUMN",
    "OutputColumn",
    "TrainingSetRequest",
    "key_columns",
    "output_columns",
    "point_in_time_call",
    "spine_table",
]


def resolve_spine(spine: Any) -> Any:
    """The spine checked before anything reaches SQL: an Arrow table or a DataFrame as given, a Parquet file
    (a Path, or text ending in .parquet) read into an Arrow table, or a table name (`table` or
    `schema.table`, each part a plain identifier) double-quoted. Any other text is refused: it would be SQL."""
    if isinstance(spine, Path) or (isinstance(spine, str) and spine.lower().endswith(".parquet")):
        path = Path(spine)
        try:
            found = path.is_file()
        except (OSError, ValueError):  # a name too long, or with a NUL byte
            found = False
        if not found:
            raise TrainingSetError(f"no spine file at {shorten(str(path))} (a Parquet file was expected)")
        try:
            return pq.read_table(path)
        except (OSError, pa.ArrowException) as error:
            raise TrainingSetError(f"cannot read the spine {shorten(str(path))} as Parquet: {error}") from error
    if isinstance(spine, str):
        if problem := table_name_problem(spine):
            raise TrainingSetError(
                f"the spine must be a DataFrame, an Arrow table, a Parquet file (.parquet) or a table name: {problem}"
            )
        return quoted_table_name(spine)
    return spine


def check_spine_columns(request: TrainingSetRequest, spine_columns: Sequence[str]) -> None:
    """Every spine column, the spine time and the spine's key columns must be plain identifiers: the
    point_in_time_join macro writes them into SQL as they are."""
    named = [("spine_time", request.spine_time)]
    named += [(f"keys of '{group}'", column) for group, keys in request.keys.items() for column in keys.values()]
    named += [("a spine column", column) for column in spine_columns]
    for role, column in named:
        if problem := column_name_problem(column):
            raise TrainingSetError(f"{role}: {problem}")


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
            ref = FeatureRef.parse(name)
            if ref.group in candidates:  # before the catalog: a candidate is not a model
                feature_names = candidates[ref.group].feature_names
                if problem := column_name_problem(ref.feature):  # not checked by a contract: it is none yet
                    raise TrainingSetError(f"feature {name!r}: {problem}")
                if ref.feature not in feature_names:
                    raise TrainingSetError(
                        f"'{ref.feature}' is not a feature of '{ref.group}'; its features: {', '.join(feature_names)}"
                    )
            else:
                catalog.resolve(ref)
            if ref.feature in wanted.setdefault(ref.group, []):
                raise TrainingSetError(f"feature {name!r} is requested twice")
            wanted[ref.group].append(ref.feature)
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
    check_spine_columns(request, spine_columns)
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


@dataclass(frozen=True)
class OutputColumn:
    """A column the join adds to the spine's: `name` in the result, from `column` of feature group `group` (the
    group's event time for its `<alias>_<event_time>` column)."""

    name: str
    group: str
    column: str


def output_columns(compiler: DbtCompiler, feature_groups: Sequence[Mapping[str, Any]]) -> list[OutputColumn]:
    """The columns point_in_time_join adds for `feature_groups`, in its order, as the macro names them
    (macros/pit_output_columns.sql: the naming of prefixes, renames and aliases has one home, the macro)."""
    compiled = compiler.compile(
        "{{ tojson(featurestore.pit_output_columns(" + json.dumps(list(feature_groups)) + ")) }}"
    )
    try:
        return [OutputColumn(str(o["name"]), str(o["group"]), str(o["column"])) for o in json.loads(compiled)]
    except (ValueError, TypeError, KeyError) as error:
        raise TrainingSetError(f"pit_output_columns returned no list of columns: {compiled[:200]!r}") from error


def spine_table(spine: Any, spine_time: str, key_columns: Sequence[str] = ()) -> tuple[pa.Table, pa.Table]:
    """The spine as Arrow (as it went in) and the part of it that goes through the join (frames.join_spine)."""
    table = arrow_table(spine, "the spine")
    return table, join_spine(table, spine_time, key_columns)


def time_bounds_of(table: pa.Table, spine_time: str) -> tuple[datetime, datetime] | None:
    """The [min, max] of the spine's label times, or None when every one is null."""
    bounds = pc.min_max(table[spine_time])
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    return None if low is None else (low, high)
