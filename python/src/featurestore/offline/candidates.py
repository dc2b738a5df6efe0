"""Candidate feature groups: feature tables tried in a training set before they become dbt models.

A candidate is a table of feature rows (a pandas DataFrame, an Arrow table, a Parquet path, or the name of a
table in the offline store) with the contract a model would declare in YAML, given inline: entity column(s),
event time, TTL. It is joined by the same macro, with the same semantics, as a model group (the macro takes
the contract from the feature_groups entry instead of the graph), so a training set with and without a
candidate can be compared in one notebook, and the candidate turned into a model afterwards with the same
numbers (docs/training_sets.md, "From candidate to model").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from featurestore.core.contract import BOOKKEEPING_COLUMNS, parse_ttl
from featurestore.core.errors import ContractError, TrainingSetError
from featurestore.core.identifiers import column_name_problem, quoted_table_name, table_name_problem
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.offline.frames import arrow_table, is_parquet_path, require_columns, utc_time_column

# What a notebook's candidate table is registered (locally) or uploaded (Athena) as: a prefix and the name.
CANDIDATE_TABLE_PREFIX = "featurestore_candidate_"


@dataclass(frozen=True, eq=False)  # data may be a DataFrame, which has no truth value
class Candidate:
    """A feature table that is not a model yet, with the contract a model would declare::

        Candidate("dwell", frame, entity="user_id", event_time="effective_at", ttl="7d")

    `data` is a pandas DataFrame, a pyarrow Table, a Parquet path (`Path`, or a string ending in .parquet) or
    the name of a table in the offline store (`schema.table`). Its features are every column but the entity,
    the event time and `computed_at`; request them as `"<name>:<column>"`. The event time must be a timestamp:
    zone-less values are UTC, zoned ones are converted to UTC."""

    name: str
    data: Any
    entity: str | Sequence[str]
    event_time: str
    ttl: str

    def __post_init__(self) -> None:
        if problem := column_name_problem(self.name):
            raise TrainingSetError(f"candidate name: {problem}, e.g. 'user_dwell'")
        entity = self.entity_columns
        if not entity or not all(isinstance(column, str) and column for column in entity):
            raise TrainingSetError(f"candidate '{self.name}': entity must be a column name or a list of them")
        if not isinstance(self.event_time, str) or not self.event_time or self.event_time in entity:
            raise TrainingSetError(
                f"candidate '{self.name}': event_time must name a timestamp column that is not an entity column"
            )
        for column in (*entity, self.event_time):  # the macro writes them into SQL as they are
            if problem := column_name_problem(column):
                raise TrainingSetError(f"candidate '{self.name}': {problem}")
        try:
            parse_ttl(self.ttl, model=self.name)
        except ContractError as error:
            raise TrainingSetError(f"candidate '{self.name}': {error.problem}") from None
        if self.is_relation and (problem := table_name_problem(self.data)):
            raise TrainingSetError(
                f"candidate '{self.name}': neither a Parquet path (ending in .parquet) nor a table name: {problem}"
            )

    @property
    def entity_columns(self) -> tuple[str, ...]:
        return (self.entity,) if isinstance(self.entity, str) else tuple(self.entity)

    @property
    def is_relation(self) -> bool:
        """True when `data` names a table in the offline store rather than holding or pointing at data."""
        return isinstance(self.data, str) and not is_parquet_path(self.data)


def candidate_relation(candidate: Candidate) -> str:
    """The quoted name of a candidate that is a table of the offline store (checked in Candidate)."""
    return quoted_table_name(candidate.data)


@dataclass(frozen=True)
class ResolvedCandidate:
    """A candidate placed where the join can read it: `relation` is its name in the compiled SQL, `table` the
    data to register or upload under that name (None when it is already a table of the offline store)."""

    candidate: Candidate
    relation: str
    columns: tuple[str, ...]
    table: pa.Table | None = None

    @property
    def name(self) -> str:
        return self.candidate.name

    @property
    def entity(self) -> tuple[str, ...]:
        return self.candidate.entity_columns

    @property
    def feature_names(self) -> tuple[str, ...]:
        reserved = {*self.entity, self.candidate.event_time, *BOOKKEEPING_COLUMNS}
        return tuple(column for column in self.columns if column not in reserved)

    def contract(self) -> dict[str, Any]:
        """The `candidate` mapping of the macro's feature_groups entry (see macros/pit_candidate.sql)."""
        return {
            "relation": self.relation,
            "entity": list(self.entity),
            "event_time": self.candidate.event_time,
            "ttl": self.candidate.ttl,
            "columns": list(self.columns),
        }


def check_candidates(candidates: Sequence[Candidate], catalog: FeatureGroupCatalog) -> None:
    """Candidate names are unique and are not names of feature groups ("group:feature" must be unambiguous)."""
    seen: set[str] = set()
    for candidate in candidates:
        if not isinstance(candidate, Candidate):
            raise TrainingSetError(f"candidates must be featurestore.Candidate objects, got {type(candidate).__name__}")
        if candidate.name in seen:
            raise TrainingSetError(f"two candidates are named '{candidate.name}'")
        if candidate.name in catalog.names():
            raise TrainingSetError(
                f"candidate '{candidate.name}' has the name of a feature group; name the candidate differently "
                "(e.g. with a _candidate suffix)"
            )
        seen.add(candidate.name)


def candidate_table(candidate: Candidate) -> pa.Table:
    """A candidate's data (not a table name) as Arrow, checked, with its event time as zone-less UTC."""
    what = f"candidate '{candidate.name}'"
    table = arrow_table(candidate.data, what)
    require_columns(table, candidate.entity_columns, what, "entity column")
    require_columns(table, [candidate.event_time], what, "event_time")
    table = utc_time_column(table, candidate.event_time, what, "event_time")
    features = [
        column for column in table.column_names if column not in {*candidate.entity_columns, candidate.event_time}
    ]
    if not features:
        raise TrainingSetError(f"{what} has no feature column besides its entity and event time")
    for index, field in enumerate(table.schema):  # category keys compare as their values
        if pa.types.is_dictionary(field.type) and field.name in candidate.entity_columns:
            table = table.set_column(index, field.name, table[field.name].cast(field.type.value_type))
    return table


def table_relation(candidate: Candidate, index: int) -> str:
    """The name a candidate's data is registered or uploaded under: unique within a request."""
    return f"{CANDIDATE_TABLE_PREFIX}{index}_{candidate.name}"


def by_name(resolved: Sequence[ResolvedCandidate]) -> Mapping[str, ResolvedCandidate]:
    return {candidate.name: candidate for candidate in resolved}


def model_yaml(candidate: Candidate, table: pa.Table | None = None, *, owner: str = "TODO") -> str:
    """A starting point for the candidate's model .yml (contract and columns with types); descriptions are
    left for the author. `table`: the candidate's data (read from `data` when omitted, unless it is a table
    name)."""
    if table is None:
        if candidate.is_relation:
            raise TrainingSetError(f"candidate '{candidate.name}' is a table name; pass its Arrow table to describe it")
        table = candidate_table(candidate)
    entity = ", ".join(candidate.entity_columns)
    lines = [
        "models:",
        f"  - name: {candidate.name}",
        "    description: TODO",
        "    config:",
        "      meta:",
        "        feature_group:",
        f"          entity: [{entity}]",
        f"          event_time: {candidate.event_time}",
        "          online: false",
        f"          ttl: {candidate.ttl}",
        f"          owner: {owner}",
        "    columns:",
    ]
    for field in table.schema:
        lines += [
            f"      - name: {field.name}",
            f"        data_type: {_sql_type(field.type)}",
            "        description: TODO",
        ]
    return "\n".join(lines) + "\n"


def _sql_type(data_type: pa.DataType) -> str:
    if pa.types.is_timestamp(data_type) or pa.types.is_date(data_type):
        return "timestamp"
    if pa.types.is_integer(data_type):
        return "bigint"
    if pa.types.is_floating(data_type):
        return "double"
    if pa.types.is_boolean(data_type):
        return "boolean"
    if pa.types.is_decimal(data_type):
        return f"decimal({data_type.precision},{data_type.scale})"
    if pa.types.is_dictionary(data_type):
        return _sql_type(data_type.value_type)
    return "varchar"
