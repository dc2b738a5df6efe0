"""Result parity of the athena SQL: run it, transpiled to DuckDB, on the local data and compare with the local build.

The local target and Athena share most SQL, but the adapter-dispatched macros (`epoch_seconds`,
`last_non_null`, `cast_timestamp`, ...) and dbt's cross-database macros emit different SQL per adapter. The
athena branch never runs in CI, so this module runs it: each model's athena-compiled SELECT is transpiled
with sqlglot (`read="athena"`, `write="duckdb"`), its relations are pointed at the local build's relations
of the same nodes, and its result is compared with the table or view the local target built. Each model is
checked on the local versions of its inputs, so a difference is reported at the model that causes it rather
than at everything downstream.

Where sqlglot's transpile does not keep Trino's meaning, the harness fixes the AST up (see `TRINO_DIVISION`);
constructs it cannot fix are banned by `tests/athena/test_portability_guard.py`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

# The bookkeeping column of feature groups: the run's start time, which differs between any two compiles.
IGNORED_COLUMNS = frozenset({"computed_at"})
# Both engines compute in IEEE doubles, but not necessarily in the same order (e.g. a window sum).
REL_TOL = 1e-9
ABS_TOL = 1e-9
EQUAL = "equal"

_INTEGER_TYPES = "TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT"
_EXACT_TYPES = rf"^({_INTEGER_TYPES}|DECIMAL\(\d+,\d+\))$"
_SCALE = r"coalesce(try_cast(regexp_extract(typeof({x}), ',(\d+)\)', 1) as integer), 0)"

# sqlglot keeps Trino's `a / b` as DuckDB's `a / b`, which always divides in floating point. Trino types the
# division by its operands: integers divide truncating toward zero (5 / 2 = 2), exact decimals round the
# quotient half up to the larger scale of the two (1 / 3.0 = 0.3), and both fail on a zero divisor; only a
# double or real operand gives a floating-point quotient. Every division of the transpiled SQL goes through
# this macro, which decides by the DuckDB types of the operands (the same as Trino's for the types our
# models use: bigint, integer, decimal literals, double), so an integer division in an athena branch shows up
# as a result difference instead of passing silently. Decimal quotients are computed in doubles, exact to
# far beyond the comparison's tolerance at these magnitudes. DuckDB's `//` truncates toward zero like Trino.
TRINO_DIVISION_MACRO = "trino_div"
TRINO_DIVISION = rf"""
create or replace temp macro {TRINO_DIVISION_MACRO}(a, b) as (
    case
        when regexp_matches(typeof(a), '^({_INTEGER_TYPES})$') and regexp_matches(typeof(b), '^({_INTEGER_TYPES})$')
            then case when b = 0 then error('Division by zero') else a // b end
        when regexp_matches(typeof(a), '{_EXACT_TYPES}') and regexp_matches(typeof(b), '{_EXACT_TYPES}')
            then case
                when b = 0 then error('Division by zero')
                else round(
                    cast(a as double) / cast(b as double), greatest({_SCALE.format(x="a")}, {_SCALE.format(x="b")})
                )
            end
        else a / b
    end
)
"""

RelationKey = tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class ModelParity:
    """One model's comparison: its row counts on both sides and `equal` or what differs."""

    model: str
    local_rows: int | None
    athena_rows: int | None
    result: str

    @property
    def equal(self) -> bool:
        return self.result == EQUAL


def relation_key(relation: exp.Table) -> RelationKey:
    """A relation's identity independent of quoting and case: (catalog, database, name) as far as given."""
    return tuple(part.name.lower() for part in relation.parts)


def parse_relation(relation_name: str, dialect: str) -> exp.Expression:
    """The FROM-clause expression of a manifest `relation_name`: a table, or (dbt-duckdb's external sources)
    a table function such as `read_parquet(...)`."""
    select = sqlglot.parse_one(f"select * from {relation_name}", read=dialect)
    source = select.args["from_"].this
    assert isinstance(source, exp.Expression)
    return source


def as_athena_reads_hive(relation_name: str, timestamp_columns: Iterable[str]) -> str:
    """A local relation read as Athena reads a Hive/Parquet table: engine v3 reads Parquet timestamps of a Hive
    table at millisecond precision, rounding the microseconds (half up), so an event at 12:04:59.9996 is read
    as 12:05:00.000. The raw sources are such tables; the harness must see what Athena sees."""
    columns = sorted(timestamp_columns)
    if not columns:
        return relation_name
    rounded = ", ".join(
        f"date_trunc('millisecond', {column} + interval 500 microsecond) as {column}" for column in columns
    )
    return f"(select * replace ({rounded}) from {relation_name})"


def relation_map(athena_manifest: Mapping[str, Any], local_manifest: Mapping[str, Any]) -> dict[RelationKey, str]:
    """Athena relation -> the local `relation_name` of the same node, for every model, seed and source.

    Sources (Hive tables on Athena) are read with Athena's millisecond rounding of their timestamp columns
    (`as_athena_reads_hive`); models are Iceberg tables or views and keep microseconds."""
    local_nodes = {**local_manifest["nodes"], **local_manifest["sources"]}
    mapping: dict[RelationKey, str] = {}
    for unique_id, node in {**athena_manifest["nodes"], **athena_manifest["sources"]}.items():
        athena_name = node.get("relation_name")
        local_node = local_nodes.get(unique_id)
        if not athena_name or local_node is None or not local_node.get("relation_name"):
            continue
        table = parse_relation(athena_name, "athena")
        assert isinstance(table, exp.Table), f"{unique_id}: unexpected athena relation {athena_name}"
        local_name = local_node["relation_name"]
        if node["resource_type"] == "source":
            timestamps = [
                name
                for name, column in node.get("columns", {}).items()
                if str(column.get("data_type", "")).lower().startswith("timestamp")
            ]
            local_name = as_athena_reads_hive(local_name, timestamps)
        mapping[relation_key(table)] = local_name
    return mapping


def athena_to_duckdb(sql: str, relations: Mapping[RelationKey, str]) -> str:
    """The athena SELECT `sql` as DuckDB SQL with Trino's division semantics, reading the mapped relations.

    Raises KeyError for a qualified relation that has no mapping: reading something else than the local
    build's inputs would compare against the wrong data.
    """
    statement = sqlglot.parse_one(sql, read="athena")

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and node.args.get("db") is not None:
            key = relation_key(node)
            if key not in relations:
                raise KeyError(f"no local relation for athena relation {node.sql(dialect='athena')}")
            replacement = parse_relation(relations[key], "duckdb").copy()
            alias = node.args.get("alias")
            if alias is not None:
                replacement.set("alias", alias.copy())
            return replacement
        if isinstance(node, exp.Div):
            return exp.Anonymous(this=TRINO_DIVISION_MACRO, expressions=[node.this, node.expression])
        return node

    return statement.transform(rewrite).sql(dialect="duckdb")


def _is_float_type(type_name: str) -> bool:
    return type_name.upper().startswith(("DOUBLE", "FLOAT", "REAL", "DECIMAL"))


def _fetch(connection: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[str], list[tuple[Any, ...]]]:
    relation = connection.sql(sql)
    return list(relation.columns), [str(t) for t in relation.types], relation.fetchall()


def _float(value: Any) -> float | None:
    if value is None:
        return None
    return float(value) if isinstance(value, float | Decimal | int) else value


def _close(left: float | None, right: float | None) -> bool:
    if left is None or right is None:
        return left is right
    if math.isnan(left) or math.isnan(right):
        return math.isnan(left) and math.isnan(right)
    return math.isclose(left, right, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _sort_key(values: tuple[float | None, ...]) -> tuple[tuple[bool, float], ...]:
    return tuple((value is None, 0.0 if value is None else value) for value in values)


def _unmatched(
    left: list[tuple[float | None, ...]], right: list[tuple[float | None, ...]]
) -> tuple[list[tuple[float | None, ...]], list[tuple[float | None, ...]]]:
    """The rows of two multisets of float tuples that have no partner within the tolerance on the other side."""
    left, right = sorted(left, key=_sort_key), sorted(right, key=_sort_key)
    if len(left) == len(right) and all(map(_rows_close, left, right)):
        return [], []
    # Sorting pairs everything up unless near-equal values straddle each other: fall back to a greedy match.
    remaining = list(right)
    missing = []
    for row in left:
        partner = next((i for i, candidate in enumerate(remaining) if _rows_close(row, candidate)), None)
        if partner is None:
            missing.append(row)
        else:
            del remaining[partner]
    return missing, remaining


def _rows_close(left: tuple[float | None, ...], right: tuple[float | None, ...]) -> bool:
    return all(map(_close, left, right))


def compare_rows(
    columns: Sequence[str],
    float_columns: Iterable[str],
    local: Iterable[Sequence[Any]],
    athena: Iterable[Sequence[Any]],
) -> str:
    """`equal` when the two results are the same multiset of rows (floats within the tolerance, everything
    else exact), else a summary of the difference with an example row from each side."""
    is_float = [column in set(float_columns) for column in columns]

    def split(rows: Iterable[Sequence[Any]]) -> dict[tuple[Any, ...], list[tuple[float | None, ...]]]:
        groups: dict[tuple[Any, ...], list[tuple[float | None, ...]]] = defaultdict(list)
        for row in rows:
            exact = tuple(value for value, flag in zip(row, is_float, strict=True) if not flag)
            groups[exact].append(tuple(_float(value) for value, flag in zip(row, is_float, strict=True) if flag))
        return groups

    local_groups, athena_groups = split(local), split(athena)
    only_local: list[tuple[Any, ...]] = []
    only_athena: list[tuple[Any, ...]] = []
    for key in local_groups.keys() | athena_groups.keys():
        missing, extra = _unmatched(local_groups.get(key, []), athena_groups.get(key, []))
        only_local.extend((*key, *floats) for floats in missing)
        only_athena.extend((*key, *floats) for floats in extra)
    if not only_local and not only_athena:
        return EQUAL
    order = [c for c, f in zip(columns, is_float, strict=True) if not f] + [
        c for c, f in zip(columns, is_float, strict=True) if f
    ]
    parts = [f"{len(only_local)} local rows not in athena's result, {len(only_athena)} athena rows not in local's"]
    if only_local:
        parts.append(f"e.g. local {dict(zip(order, sorted(only_local, key=repr)[0], strict=True))}")
    if only_athena:
        parts.append(f"e.g. athena {dict(zip(order, sorted(only_athena, key=repr)[0], strict=True))}")
    return "; ".join(parts)


def compare_model(
    connection: duckdb.DuckDBPyConnection, name: str, local_relation: str, transpiled_sql: str
) -> ModelParity:
    """Runs the transpiled athena SQL and the local relation on `connection` and compares their results."""
    local_columns, local_types, local_rows = _fetch(connection, f"select * from {local_relation}")
    try:
        athena_columns, athena_types, athena_rows = _fetch(connection, transpiled_sql)
    except duckdb.Error as error:
        return ModelParity(name, len(local_rows), None, f"athena SQL failed on DuckDB: {error}")
    if local_columns != athena_columns:
        return ModelParity(
            name, len(local_rows), len(athena_rows), f"columns differ: local {local_columns}, athena {athena_columns}"
        )
    kept = [i for i, column in enumerate(local_columns) if column not in IGNORED_COLUMNS]
    columns = [local_columns[i] for i in kept]
    float_columns = {
        local_columns[i] for i in kept if _is_float_type(local_types[i]) or _is_float_type(athena_types[i])
    }
    result = compare_rows(
        columns,
        float_columns,
        ([row[i] for i in kept] for row in local_rows),
        ([row[i] for i in kept] for row in athena_rows),
    )
    return ModelParity(name, len(local_rows), len(athena_rows), result)


def model_nodes(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The enabled model nodes of a manifest by unique id."""
    return {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["config"].get("enabled", True)
    }


def run_parity(
    athena_manifest: Mapping[str, Any], local_manifest: Mapping[str, Any], duckdb_path: Path
) -> list[ModelParity]:
    """Every model of the athena compile, transpiled and run on the local build at `duckdb_path` (opened read
    only), compared with the local build of the same model; sorted by model name."""
    relations = relation_map(athena_manifest, local_manifest)
    local_models = model_nodes(local_manifest)
    results = []
    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        connection.execute(TRINO_DIVISION)
        for unique_id, node in sorted(model_nodes(athena_manifest).items(), key=lambda item: item[1]["name"]):
            name = node["name"]
            local_node = local_models.get(unique_id)
            if local_node is None or not local_node.get("relation_name"):
                results.append(ModelParity(name, None, None, "not built by the local target"))
                continue
            compiled = node.get("compiled_code")
            if not compiled:
                results.append(ModelParity(name, None, None, "no compiled athena SQL in the manifest"))
                continue
            try:
                transpiled = athena_to_duckdb(compiled, relations)
            except (sqlglot.errors.SqlglotError, KeyError) as error:
                results.append(ModelParity(name, None, None, f"cannot transpile the athena SQL: {error}"))
                continue
            results.append(compare_model(connection, name, local_node["relation_name"], transpiled))
    return results


def format_report(results: Iterable[ModelParity]) -> str:
    """A markdown table: model, local rows, athena rows, result."""
    lines = ["| model | local rows | athena rows | result |", "| --- | ---: | ---: | --- |"]
    for row in results:
        # A pipe in an error message would split the table's cell.
        result = re.sub(r"\s+", " ", row.result).replace("|", "\\|")
        lines.append(f"| {row.model} | {row.local_rows} | {row.athena_rows} | {result} |")
    return "\n".join(lines) + "\n"
