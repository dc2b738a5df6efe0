"""Types every table write and UNLOAD against Athena's storage rules, which neither moto nor DuckDB enforce.

Athena engine v3 (https://docs.aws.amazon.com/athena/latest/ug/data-types.html,
https://docs.aws.amazon.com/athena/latest/ug/querying-iceberg-supported-data-types.html):

- a Hive table (dbt-athena's default `table_type`) and UNLOAD's output (written by the Hive writer) hold
  `timestamp(3)` only: a `timestamp(6)` column fails the CTAS, INSERT or UNLOAD ("Incorrect timestamp precision
  for timestamp(6); the configured precision is MILLISECONDS");
- an Iceberg table stores `timestamp(6)`; no `timestamp with time zone`, no `tinyint`/`smallint` and no
  `varchar(n)` (Iceberg has no such types).

Output types come from the compiled SQL, typed by sqlglot's `annotate_types` over a schema built in dependency
order: the sources' YAML `data_type`s (Hive tables: their timestamps are read as `timestamp(3)`), then each
model's own typed output, where the YAML `data_type` of a column fills in what sqlglot cannot type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

T = exp.DataType.Type
TIMESTAMPS = {T.TIMESTAMP, T.DATETIME, T.TIMESTAMP_S, T.TIMESTAMP_MS, T.TIMESTAMP_NS, T.DATETIME64}
ZONED = {T.TIMESTAMPTZ, T.TIMESTAMPLTZ}
# Trino's `timestamp` without a precision is timestamp(3).
DEFAULT_TIMESTAMP_PRECISION = 3
WRITES = ("table", "incremental")

Schema = dict[str, dict[str, dict[str, str]]]


@dataclasses.dataclass(frozen=True)
class Violation:
    what: str  # the model or statement
    column: str
    type_sql: str
    rule: str

    def __str__(self) -> str:
        return f"{self.what}.{self.column} is {self.type_sql}: {self.rule}"


def timestamp_precision(data_type: exp.DataType) -> int | None:
    """The precision of a zone-less timestamp type, None for any other type."""
    if data_type.this not in TIMESTAMPS:
        return None
    if data_type.this == T.TIMESTAMP_MS:
        return 3
    parameters = data_type.expressions
    if not parameters:
        return DEFAULT_TIMESTAMP_PRECISION
    return int(parameters[0].this.name if isinstance(parameters[0], exp.DataTypeParam) else parameters[0].name)


def violations_of(what: str, columns: Mapping[str, exp.DataType], storage: str) -> list[Violation]:
    """`storage` is 'hive' (also UNLOAD output) or 'iceberg'."""
    found = []
    for name, data_type in columns.items():
        type_sql = data_type.sql("athena")
        precision = timestamp_precision(data_type)
        if data_type.this in ZONED:
            found.append(Violation(what, name, type_sql, "a time zone cannot be stored; store UTC without one"))
        elif storage == "hive" and precision is not None and precision != 3:
            found.append(Violation(what, name, type_sql, "Hive tables and UNLOAD take timestamp(3) only"))
        elif storage == "iceberg" and precision is not None and precision != 6:
            found.append(Violation(what, name, type_sql, "Iceberg stores timestamp(6)"))
        elif storage == "iceberg" and data_type.this in {T.TINYINT, T.SMALLINT}:
            found.append(Violation(what, name, type_sql, "Iceberg has no tinyint/smallint; use integer"))
        elif storage == "iceberg" and data_type.this == T.VARCHAR and data_type.expressions:
            found.append(Violation(what, name, type_sql, "Iceberg has no varchar(n); use varchar"))
    return found


def output_types(sql: str, schema: Schema) -> dict[str, exp.DataType]:
    """The output columns of an Athena SELECT and their types as sqlglot infers them (UNKNOWN where it cannot)."""
    statement = sqlglot.parse_one(sql, read="athena")
    qualified = qualify(statement, schema=schema, dialect="athena", validate_qualify_columns=False)
    typed = annotate_types(qualified, schema=schema, dialect="athena")
    assert isinstance(typed, exp.Query), f"not a query: {sql[:200]}"
    return {projection.alias_or_name: projection.type or exp.DataType.build("unknown") for projection in typed.selects}


def _relation_parts(relation_name: str) -> tuple[str, str, str]:
    table = sqlglot.parse_one(f"select * from {relation_name}", read="athena").find(exp.Table)
    assert table is not None and table.catalog and table.db, f"not a catalog.schema.table name: {relation_name}"
    return table.catalog, table.db, table.name


def _put(schema: Schema, relation_name: str, columns: Mapping[str, str]) -> None:
    catalog, database, table = _relation_parts(relation_name)
    schema.setdefault(catalog, {}).setdefault(database, {})[table] = dict(columns)


def _yaml_types(node: Mapping[str, Any]) -> dict[str, str]:
    return {
        name: str(column["data_type"]) for name, column in node.get("columns", {}).items() if column.get("data_type")
    }


def source_schema(manifest: Mapping[str, Any]) -> Schema:
    """The raw sources as Athena reads them: Hive tables, so a YAML `timestamp` reads as timestamp(3)."""
    schema: Schema = {}
    for source in manifest["sources"].values():
        types = {
            name: "timestamp(3)" if data_type.lower() == "timestamp" else data_type
            for name, data_type in _yaml_types(source).items()
        }
        _put(schema, source["relation_name"], types)
    return schema


def storage_of(node: Mapping[str, Any]) -> str | None:
    """'iceberg' or 'hive' for a model Athena writes as a table (dbt-athena's default is hive), None for a view."""
    config = node["config"]
    if config.get("materialized") not in WRITES:
        return None
    return "iceberg" if str(config.get("table_type") or "hive").lower() == "iceberg" else "hive"


@dataclasses.dataclass
class ModelTypes:
    name: str
    storage: str | None
    columns: dict[str, exp.DataType]


def type_models(manifest: Mapping[str, Any]) -> tuple[list[ModelTypes], Schema]:
    """Every enabled model's output types, in dependency order; and the schema they make up (sources too)."""
    schema = source_schema(manifest)
    models = {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["config"].get("enabled", True)
    }
    done: list[ModelTypes] = []
    remaining = dict(models)
    while remaining:
        ready = [
            unique_id
            for unique_id in remaining
            if not any(parent in remaining for parent in manifest["parent_map"].get(unique_id, []))
        ]
        assert ready, f"dependency cycle among {sorted(remaining)}"
        for unique_id in sorted(ready):
            node = remaining.pop(unique_id)
            inferred = output_types(node["compiled_code"], schema)
            declared = {name: exp.DataType.build(t, dialect="athena") for name, t in _yaml_types(node).items()}
            columns = {
                name: declared[name] if data_type.this == T.UNKNOWN and name in declared else data_type
                for name, data_type in inferred.items()
            }
            done.append(ModelTypes(node["name"], storage_of(node), columns))
            _put(schema, node["relation_name"], {name: t.sql("athena") for name, t in columns.items()})
    return done, schema


def check_models(manifest: Mapping[str, Any]) -> list[Violation]:
    """Every table (CTAS, and the INSERT/MERGE of incremental runs, which write the same columns) checked."""
    models, _ = type_models(manifest)
    found: list[Violation] = []
    for model in models:
        if model.storage is not None:
            found.extend(violations_of(model.name, model.columns, model.storage))
    return found


def check_unload(statement_query: str, schema: Schema, what: str = "UNLOAD") -> list[Violation]:
    """An UNLOAD's query (the SELECT it wraps) typed over `schema` and checked as Hive output."""
    return violations_of(what, output_types(statement_query, schema), "hive")


def unknown_columns(models: Iterable[ModelTypes]) -> list[str]:
    """`model.column` of table columns sqlglot could not type and the YAML does not declare."""
    return [
        f"{model.name}.{name}"
        for model in models
        if model.storage is not None
        for name, data_type in model.columns.items()
        if data_type.this == T.UNKNOWN
    ]
