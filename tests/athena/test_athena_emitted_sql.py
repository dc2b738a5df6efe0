"""`dbt run --target athena` against moto, and checks on every statement dbt-athena sends to Athena.

`test_athena_compile.py` checks compiled models; this checks what the adapter really emits at run time
around them (the Iceberg CTAS, the MERGE of an incremental run, the post-hook DELETE of a range
backfill), for four runs of the feature groups in a row: first build, incremental run, range backfill
(`--vars '{backfill_start: ..., backfill_end: ...}'`), `--full-refresh`.

How the runs are made to take the real code paths. moto's Athena records each StartQueryExecution and
executes nothing, so left alone the first build fails (persist_docs reads the Glue table the CTAS should
have created) and every later run would be a first build again. Creating the tables in Glue *between*
runs is not enough: within one run dbt-athena reads back the table it just created (persist_docs, and
`get_columns_in_relation` of the `__dbt_tmp` table for the MERGE). So for the duration of this module
`AthenaCatalogEffects` wraps moto's `AthenaBackend.start_query_execution` (the server runs in this
process) and applies, synchronously as Athena would, the catalog side of the statements dbt sends:

- `create schema if not exists` creates the Glue database;
- a CTAS creates the Glue table as Athena does for an Iceberg CTAS (EXTERNAL_TABLE, table_type=ICEBERG,
  the statement's location), with the columns and types the model's YAML declares;
- `drop table` deletes it (dbt-athena normally drops through the Glue API, which moto handles itself);
- `select max(<watermark>) from <feature group>` (the watermark query of `incremental_window()`) gets a
  fixed timestamp as its result, through moto's own result queue (the one behind
  `POST /moto-api/static/athena/query-results`, filled here just before the execution it belongs to,
  because that queue hands results out in start order to whichever query comes next).

Everything else (the SQL text, its order, the Glue API calls of drop/persist_docs) is dbt-athena's own.
The statements are recorded in the wrapper, in the order moto received them.

Observed dbt-athena behaviour the tests pin: temporary (`__dbt_tmp`) tables are created unpartitioned;
`--full-refresh` takes the "high availability" path even with `s3_data_naming: schema_table_unique`
(its condition tests an undefined `external_location`, which is "not none"): CTAS of `__dbt_tmp` under
the target's prefix, `alter table ... rename to ...__bkp`, rename of `__dbt_tmp`, drop of `__bkp` through
Glue and S3 (so the `rename` is handled by the catalog effects too).

What this cannot check: that Athena accepts the statements (sqlglot's `athena` dialect is the stand-in,
plus a bracket balance check), the CTAS's real column types (the fake table takes the YAML's types, so
`on_schema_change` always sees identical columns), and anything data-dependent: the watermark is made
up, no rows exist.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlglot
import yaml
from moto.athena.models import AthenaBackend
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import TokenType
from support.athena_fakes import answer_timestamp

if TYPE_CHECKING:
    from conftest import AthenaEnv, Dbt, DbtResult

pytestmark = [pytest.mark.aws, pytest.mark.dbt, pytest.mark.slow]

PROJECT_DIR = Path(__file__).resolve().parents[2]
MODELS_DIR = PROJECT_DIR / "models"
ATHENA = Dialect.get_or_raise("athena")

# A schema of its own: other modules share the session's moto server, and a feature group table left in
# the default schema would turn their compiles into incremental ones.
ATHENA_SCHEMA = "emitted_sql"
FEATURES_SCHEMA = f"{ATHENA_SCHEMA}_features"
STAGING_SCHEMA = f"{ATHENA_SCHEMA}_staging"
DATA_BUCKET = "featurestore-data"
TMP_SUFFIX = "__dbt_tmp"
# `unique_tmp_table_suffix: true` (dbt_project.yml): an incremental run's temporary table is
# `<model>__dbt_tmp_<uuid4 with underscores>`, its own, so concurrent runs cannot drop each other's.
UNIQUE_TMP = r"__dbt_tmp_[0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12}"

LOOKBACK_HOURS = 6  # dbt_project.yml: late_arrival_lookback_hours
# What the fake Athena answers to the watermark query: not on any grain, with microseconds, so the
# flooring in incremental_window() is exercised.
WATERMARK = dt.datetime(2026, 10, 3, 10, 7, 31, 123456)
BACKFILL_START = dt.datetime(2026, 10, 2)
BACKFILL_END = dt.datetime(2026, 10, 3)
# What it answers for the incremental staging models: the newest ingestion already staged, and the oldest event
# time among the rows of the raw partitions read from the day before it.
STAGED_UNTIL = dt.datetime(2026, 10, 3, 9, 58, 12, 500000)
STAGING_DT_FROM = "2026-10-02"
BATCH_EVENTS_FROM = dt.datetime(2026, 10, 1, 22, 13, 5)
# newest_value() on Athena first reads only the partitions of the last days before the run's start.
RECENT_DAYS = 3


@dataclasses.dataclass(frozen=True)
class FeatureGroup:
    name: str
    unique_key: tuple[str, ...]
    grain_seconds: int
    # The longest window (0 for an attribute group): the newest row lies at most this and a bucket after the
    # newest event, so the watermark (the newest row) is read back by that much.
    longest_seconds: int
    schema: str = FEATURES_SCHEMA
    event_time: str = "effective_at"
    # Declares a lifetime feature: a range backfill runs to the table's end (macros/backfill_extent.sql).
    lifetime: bool = False

    @property
    def watermark_column(self) -> str:
        return self.event_time

    def incremental_lower_bound(self) -> dt.datetime:
        """recompute_from of an incremental run, computed independently of the macro."""
        offset = self.longest_seconds + self.grain_seconds if self.longest_seconds else 0
        start = WATERMARK - dt.timedelta(hours=LOOKBACK_HOURS, seconds=offset)
        epoch = dt.datetime(1970, 1, 1)
        seconds = int((start - epoch).total_seconds()) // self.grain_seconds * self.grain_seconds
        return epoch + dt.timedelta(seconds=seconds)


DAY_SECONDS = 86400
FEATURE_GROUPS = (
    FeatureGroup("user_engagement", ("user_id", "effective_at"), 300, 7 * DAY_SECONDS, lifetime=True),
    FeatureGroup("article_popularity", ("article_id", "effective_at"), 300, DAY_SECONDS, lifetime=True),
    FeatureGroup(
        "user_category_affinity", ("user_id", "category", "effective_at"), 3600, 30 * DAY_SECONDS, lifetime=True
    ),
    FeatureGroup("article_reactions", ("article_id", "effective_at"), 300, DAY_SECONDS),
    FeatureGroup("article_attributes", ("article_id", "published_at"), 1, 0, event_time="published_at"),
)
PARTITIONING = "day(effective_at)"


@dataclasses.dataclass(frozen=True)
class StagingModel:
    """An incremental staging model: merged on its event id, partitioned by day of its event time."""

    name: str
    base: str
    unique_key: tuple[str, ...]
    event_time: str
    schema: str = STAGING_SCHEMA


STAGING_MODELS = (
    StagingModel("stg_news__impressions", "base_news__impressions", ("impression_id",), "shown_at"),
    StagingModel("stg_news__reactions", "base_news__reactions", ("reaction_id",), "reacted_at"),
)

# Glue types of Athena Iceberg tables for the YAML data types (Glue says `string` for varchar).
GLUE_TYPES = {
    "bigint": "bigint",
    "integer": "int",
    "double": "double",
    "timestamp": "timestamp",
    "varchar": "string",
    "boolean": "boolean",
}

# dbt's query comment, prepended to every statement: `-- /* {json} */`.
QUERY_COMMENT = re.compile(r"\A\s*--\s*/\*\s*(\{.*?\})\s*\*/\s*\n", re.DOTALL)
# `"awsdatacatalog"."schema"."table"` as dbt-athena renders relations in DML/CTAS.
RELATION = r'"awsdatacatalog"\."(?P<schema>\w+)"\."(?P<table>\w+)"'
CREATE_SCHEMA = re.compile(r"\Acreate\s+schema\s+if\s+not\s+exists\s+`(?P<schema>\w+)`\s*\Z", re.IGNORECASE)
CTAS = re.compile(rf"\Acreate\s+table\s+{RELATION}\s+with\s*\((?P<props>.*?)\)\s*as\b", re.IGNORECASE | re.DOTALL)
CTAS_LOCATION = re.compile(r"\blocation\s*=\s*'(?P<location>[^']+)'", re.IGNORECASE)
RENAME_TABLE = re.compile(
    r"\Aalter\s+table\s+`(?P<schema>\w+)`\.`(?P<table>\w+)`\s+rename\s+to\s+`(?P<to_schema>\w+)`\.`(?P<to_table>\w+)`\s*\Z",
    re.IGNORECASE,
)
# The feature-group views of the post-hook create_feature_group_views().
CREATE_VIEW = re.compile(rf"\Acreate\s+or\s+replace\s+view\s+{RELATION}\s+as\b", re.IGNORECASE)
DROP_TABLE = re.compile(r"\Adrop\s+table\s+(?:if\s+exists\s+)?`(?P<schema>\w+)`\.`(?P<table>\w+)`\s*\Z", re.IGNORECASE)
# newest_value(): `select max(col) from t`, first with a literal bound on the partition column.
WATERMARK_QUERY = re.compile(
    rf"\Aselect\s+max\((?P<column>\w+)\)\s+from\s+{RELATION}"
    r"(?:\s+where\s+(?P<partition_column>\w+)\s*>=\s*timestamp\s+'(?P<since>[^']+)')?\s*\Z",
    re.IGNORECASE,
)
# staging_batch(): the oldest event time in the raw partitions a staging run reads.
BATCH_QUERY = re.compile(
    rf"\Aselect\s+min\((?P<column>\w+)\)\s+from\s+{RELATION}\s+where\s+rejection_reason\s+is\s+null"
    r"\s+and\s+dt\s*>=\s*'(?P<dt_from>[\d-]+)'\s*\Z",
    re.IGNORECASE,
)

# Statements Athena accepts that sqlglot's athena dialect does not parse. Each must match its pattern in
# full; anything else sqlglot cannot parse is a failure. dbt-athena emits these only when configured
# (table maintenance, Hive table properties); the feature groups configure none, so the runs below are
# expected to contain none, and the patterns are pinned by their own test.
UNPARSEABLE_BY_SQLGLOT: Mapping[str, re.Pattern[str]] = {
    "OPTIMIZE": re.compile(
        rf"\Aoptimize\s+{RELATION}\s+rewrite\s+data\s+using\s+bin_pack(?:\s+where\s+[^;]+?)?\s*\Z", re.IGNORECASE
    ),
    "VACUUM": re.compile(rf"\Avacuum\s+{RELATION}\s*\Z", re.IGNORECASE),
    "ALTER TABLE SET TBLPROPERTIES": re.compile(
        r"\Aalter\s+table\s+`\w+`\.`\w+`\s+set\s+tblproperties\s*\(\s*'[\w.]+'\s*=\s*'[^']*'"
        r"(?:\s*,\s*'[\w.]+'\s*=\s*'[^']*')*\s*\)\s*\Z",
        re.IGNORECASE,
    ),
}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@dataclasses.dataclass(frozen=True)
class Statement:
    """One StartQueryExecution as moto received it."""

    # The dbt node that sent it (from dbt's query comment), None for e.g. `create schema`.
    node: str | None
    # Without dbt's query comment.
    sql: str
    raw: str

    @property
    def model(self) -> str | None:
        return self.node.rsplit(".", 1)[-1] if self.node and self.node.startswith("model.") else None


def split_query_comment(raw: str) -> tuple[str | None, str]:
    match = QUERY_COMMENT.match(raw)
    if match is None:
        return None, raw.strip()
    node_id = json.loads(match.group(1)).get("node_id")
    return node_id, raw[match.end() :].strip()


def model_yaml(model: str) -> Path:
    (path,) = MODELS_DIR.rglob(f"{model}.yml")
    return path


def model_columns(model: str) -> dict[str, dict[str, str]]:
    """Columns of a model as its YAML declares them: name -> {type, description}."""
    document = yaml.safe_load(model_yaml(model).read_text())
    (node,) = (m for m in document["models"] if m["name"] == model)
    return {c["name"]: {"type": c["data_type"], "description": c.get("description", "")} for c in node["columns"]}


def model_description(model: str) -> str:
    document = yaml.safe_load(model_yaml(model).read_text())
    (node,) = (m for m in document["models"] if m["name"] == model)
    description: str = node["description"]
    return description


class AthenaCatalogEffects:
    """Applies the Glue side of the statements moto's Athena receives; see the module docstring."""

    def __init__(self, glue: Any, watermark: dt.datetime) -> None:
        self.glue = glue
        self.watermark = watermark
        self.statements: list[Statement] = []
        self.errors: list[str] = []
        # dbt runs models on 4 threads: recording and the result queue must not interleave.
        self._lock = threading.Lock()

    def wrap(self, original: Callable[..., str]) -> Callable[..., str]:
        def start_query_execution(backend: AthenaBackend, query: str, *args: Any, **kwargs: Any) -> str:
            with self._lock:
                node, sql = split_query_comment(query)
                self.statements.append(Statement(node=node, sql=sql, raw=query))
                try:
                    self._apply(backend, sql)
                # Reported by the fixture after the run: an exception here would only become a 500 to dbt.
                except Exception as error:
                    self.errors.append(f"{type(error).__name__}: {error}\n  on: {sql[:300]}")
                return original(backend, query, *args, **kwargs)

        return start_query_execution

    def _apply(self, backend: AthenaBackend, sql: str) -> None:
        if match := CREATE_SCHEMA.match(sql):
            schema = match["schema"]
            if schema not in {d["Name"] for d in self.glue.get_databases()["DatabaseList"]}:
                self.glue.create_database(DatabaseInput={"Name": schema})
        elif match := CTAS.match(sql):
            location = CTAS_LOCATION.search(match["props"])
            if location is None:
                raise ValueError("CTAS without a location")
            self._create_iceberg_table(match["schema"], match["table"], location["location"])
        elif match := CREATE_VIEW.match(sql):
            self._create_view(match["schema"], match["table"])
        elif match := RENAME_TABLE.match(sql):
            # Glue has no rename: Athena copies the table under the new name (same location) and drops it.
            table = self.glue.get_table(DatabaseName=match["schema"], Name=match["table"])["Table"]
            kept = ("TableType", "Parameters", "StorageDescriptor", "PartitionKeys", "Description")
            table_input = {key: table[key] for key in kept if key in table}
            self.glue.create_table(
                DatabaseName=match["to_schema"], TableInput={"Name": match["to_table"], **table_input}
            )
            self.glue.delete_table(DatabaseName=match["schema"], Name=match["table"])
        elif match := DROP_TABLE.match(sql):
            self.glue.delete_table(DatabaseName=match["schema"], Name=match["table"])
        elif match := WATERMARK_QUERY.match(sql):
            staging = match["table"].startswith("stg_")
            answer_timestamp(backend, STAGED_UNTIL if staging else self.watermark)
        elif BATCH_QUERY.match(sql):
            answer_timestamp(backend, BATCH_EVENTS_FROM)

    def _create_view(self, schema: str, view: str) -> None:
        # As Athena stores a view: a Glue VIRTUAL_VIEW whose columns are the group's (computed_at left out).
        model, _, suffix = view.partition("__")
        columns = [
            {"Name": name, "Type": GLUE_TYPES[c["type"]]}
            for name, c in model_columns(model).items()
            if name != "computed_at"
        ] + ([{"Name": "valid_until", "Type": "timestamp"}] if suffix == "validity" else [])
        table_input = {
            "Name": view,
            "TableType": "VIRTUAL_VIEW",
            "Parameters": {"presto_view": "true", "comment": "Presto View"},
            "StorageDescriptor": {"Columns": columns},
        }
        try:
            self.glue.create_table(DatabaseName=schema, TableInput=table_input)
        except self.glue.exceptions.AlreadyExistsException:
            self.glue.update_table(DatabaseName=schema, TableInput=table_input)

    def _create_iceberg_table(self, schema: str, table: str, location: str) -> None:
        model = re.sub(rf"(?:{UNIQUE_TMP}|{TMP_SUFFIX})$", "", table)
        columns = [{"Name": name, "Type": GLUE_TYPES[c["type"]]} for name, c in model_columns(model).items()]
        self.glue.create_table(
            DatabaseName=schema,
            TableInput={
                "Name": table,
                "TableType": "EXTERNAL_TABLE",
                "Parameters": {"table_type": "ICEBERG", "EXTERNAL": "TRUE"},
                "StorageDescriptor": {"Columns": columns, "Location": location},
            },
        )


@dataclasses.dataclass(frozen=True)
class Run:
    name: str
    result: DbtResult
    statements: Sequence[Statement]
    # Glue tables of the features schema after the run: name -> GetTable's Table.
    tables: Mapping[str, Mapping[str, Any]]

    def of(self, model: str) -> list[Statement]:
        return [s for s in self.statements if s.model == model]


RUNS = ("first_build", "incremental", "backfill", "full_refresh")
RUN_ARGS: Mapping[str, Sequence[str]] = {
    "first_build": (),
    "incremental": (),
    "backfill": (
        "--vars",
        json.dumps(
            {"backfill_start": BACKFILL_START.date().isoformat(), "backfill_end": BACKFILL_END.date().isoformat()}
        ),
    ),
    "full_refresh": ("--full-refresh",),
}


@pytest.fixture(scope="module")
def effects(athena_env: AthenaEnv) -> Iterator[AthenaCatalogEffects]:
    """moto's Athena with the catalog effects, for this module; its schemas are removed afterwards."""
    glue = athena_env.server.client("glue")
    effects = AthenaCatalogEffects(glue, WATERMARK)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AthenaBackend, "start_query_execution", effects.wrap(AthenaBackend.start_query_execution))
        try:
            yield effects
        finally:
            databases = {d["Name"] for d in glue.get_databases()["DatabaseList"]}
            for schema in (FEATURES_SCHEMA, STAGING_SCHEMA):
                if schema in databases:
                    for table in glue.get_tables(DatabaseName=schema)["TableList"]:
                        glue.delete_table(DatabaseName=schema, Name=table["Name"])
                    glue.delete_database(Name=schema)


@pytest.fixture(scope="module")
def runs(
    athena_env: AthenaEnv, athena_dbt: Dbt, effects: AthenaCatalogEffects, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Run]:
    glue = athena_env.server.client("glue")
    env = {**athena_dbt.env, "FEATURESTORE_ATHENA_SCHEMA": ATHENA_SCHEMA}
    work = tmp_path_factory.mktemp("emitted-sql")
    dbt = dataclasses.replace(athena_dbt, env=env)
    results: dict[str, Run] = {}
    # Sequential by necessity: each run starts from the catalog the previous one left.
    for name in RUNS:
        first = len(effects.statements)
        # The micro-batch selection: the incremental staging tables and the feature groups.
        args = ["run", "--target", "athena", "--select", "config.materialized:incremental", *RUN_ARGS[name]]
        result = dbt.run(args, work / name)
        assert result.ok, result.describe()
        assert not effects.errors, "\n".join(effects.errors)
        tables = {
            t["Name"]: glue.get_table(DatabaseName=schema, Name=t["Name"])["Table"]
            for schema in (FEATURES_SCHEMA, STAGING_SCHEMA)
            for t in glue.get_tables(DatabaseName=schema)["TableList"]
        }
        results[name] = Run(name, result, tuple(effects.statements[first:]), tables)
    return results


# --- checks, as functions of a statement's text so the harness itself can be tested on doctored input ---


def unbalanced_parenthesis(sql: str) -> str | None:
    """sqlglot repairs a missing `)` silently, so the brackets are counted on its tokens."""
    depth = 0
    for token in ATHENA.tokenize(sql):
        depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(token.token_type, 0)
        if depth < 0:
            return f"unmatched ')' at line {token.line}, col {token.col}"
    return "unclosed '('" if depth else None


def sql_problems(sql: str) -> list[str]:
    """Why `sql` is not a valid Athena statement as far as we can tell; [] when it is."""
    try:
        parsed = sqlglot.parse(sql, read="athena")
    except sqlglot.errors.ParseError as error:
        return [f"sqlglot: {error}"]
    if len([p for p in parsed if p is not None]) != 1:
        return [f"expected one statement, sqlglot found {len(parsed)}"]
    (statement,) = parsed
    # sqlglot falls back to an opaque Command for syntax it does not know: that is not a parse.
    if isinstance(statement, exp.Command):
        matching = [name for name, pattern in UNPARSEABLE_BY_SQLGLOT.items() if pattern.match(sql)]
        if not matching:
            return [f"sqlglot cannot parse it ({statement.name}) and no known pattern matches"]
        return []
    problem = unbalanced_parenthesis(sql)
    return [problem] if problem else []


def timestamp_literal(node: exp.Expression) -> dt.datetime | None:
    """The value of `timestamp '...'` (sqlglot: a cast of a string literal to TIMESTAMP), else None."""
    if (
        isinstance(node, exp.Cast)
        and node.to.is_type(exp.DataType.Type.TIMESTAMP)
        and isinstance(node.this, exp.Literal)
        and node.this.is_string
    ):
        return dt.datetime.fromisoformat(node.this.name)
    return None


def flat_conjuncts(condition: exp.Expression) -> list[exp.Expression]:
    """`a and (b and c)` -> [a, b, c]: dbt-athena wraps the incremental predicates in their own brackets."""
    condition = condition.unnest()
    if isinstance(condition, exp.And):
        return flat_conjuncts(condition.left) + flat_conjuncts(condition.right)
    return [condition]


def is_column(node: exp.Expression, table: str, name: str) -> bool:
    return isinstance(node, exp.Column) and node.table == table and node.name == name


def bound_problems(
    condition: exp.Expression, table: str, column: str, lower: dt.datetime, upper: dt.datetime | None
) -> list[str]:
    """The literal range predicates on `table.column` in `condition`, compared with [lower, upper)."""
    problems = []
    if condition.find(exp.Select, exp.Subquery) is not None:
        problems.append(f"subquery in the condition (defeats partition pruning): {condition.sql('athena')}")
    found: dict[type[exp.Expression], list[dt.datetime | None]] = {exp.GTE: [], exp.LT: []}
    for part in flat_conjuncts(condition):
        if type(part) in found and is_column(part.left, table, column):
            found[type(part)].append(timestamp_literal(part.right))
    expected = {exp.GTE: [lower], exp.LT: [upper] if upper else []}
    for kind, values in found.items():
        if values != expected[kind]:
            symbol = ">=" if kind is exp.GTE else "<"
            problems.append(f"{table}.{column} {symbol}: expected literal(s) {expected[kind]}, found {values}")
    return problems


def merge_problems(
    sql: str, group: FeatureGroup | StagingModel, lower: dt.datetime, upper: dt.datetime | None
) -> list[str]:
    """What is wrong with the MERGE of an incremental run or backfill of `group`; [] when nothing."""
    merge = sqlglot.parse_one(sql, read="athena")
    if not isinstance(merge, exp.Merge):
        return [f"not a MERGE: {type(merge).__name__}"]
    problems = []
    target, source = merge.this, merge.args["using"]
    if (target.name, target.db, target.alias) != (group.name, group.schema, "target"):
        problems.append(f"target is {target.sql('athena')}")
    if source.alias != "src" or not re.fullmatch(group.name + UNIQUE_TMP, source.name):
        problems.append(f"source is {source.sql('athena')}, not a uniquely named temporary table")
    on = merge.args["on"]
    keys = {
        part.left.name
        for part in flat_conjuncts(on)
        if isinstance(part, exp.EQ)
        and is_column(part.left, "target", part.left.name)
        and is_column(part.right, "src", part.left.name)
    }
    if keys != set(group.unique_key):
        problems.append(f"joins on {sorted(keys)}, unique key is {list(group.unique_key)}")
    problems += bound_problems(on, "target", group.event_time, lower, upper)
    whens = merge.args["whens"].expressions
    kinds = [(bool(w.args.get("matched")), type(w.args.get("then")).__name__) for w in whens]
    if kinds != [(True, "Update"), (False, "Insert")]:
        problems.append(f"WHEN clauses are {kinds}, expected matched->UPDATE, not matched->INSERT")
    return problems


def update_condition_problems(sql: str, group: FeatureGroup) -> list[str]:
    """The MERGE's `when matched and <condition>`: `target.computed_at is distinct from src.computed_at`. The
    model keeps the stored computed_at of rows whose values did not change (`stored_row_problems`), so
    unchanged rows are not rewritten; a range backfill stamps every row, so every matched row is updated
    and the stale-row DELETE can tell rewritten rows."""
    merge = sqlglot.parse_one(sql, read="athena")
    assert isinstance(merge, exp.Merge)
    matched = [w for w in merge.args["whens"].expressions if w.args.get("matched")]
    if len(matched) != 1:
        return [f"{len(matched)} WHEN MATCHED clauses"]
    condition = matched[0].args.get("condition")
    if condition is None:
        return ["no update condition: every matched row would be rewritten"]
    condition = condition.unnest()
    if not (
        isinstance(condition, exp.NullSafeNEQ)
        and is_column(condition.left, "target", "computed_at")
        and is_column(condition.right, "src", "computed_at")
    ):
        return [f"not `target.computed_at is distinct from src.computed_at`: {condition.sql('athena')}"]
    return []


def stored_row_problems(sql: str, group: FeatureGroup, lower: dt.datetime) -> list[str]:
    """The model's reads of its own table (the stored computed_at of unchanged rows, and an attribute
    group's previous values): each must be bounded by a literal on the event time, and the stored
    computed_at must be kept only when every value column is unchanged (null-safe)."""
    statement = sqlglot.parse_one(sql, read="athena")
    problems = []
    reads = [t for t in statement.find_all(exp.Table) if t.name == group.name and t.db == group.schema]
    for table in reads:
        select = table.find_ancestor(exp.Select)
        where = select.args.get("where") if select is not None else None
        literal_bounds = [
            part
            for part in (flat_conjuncts(where.this) if where is not None else [])
            if isinstance(part, exp.GTE | exp.LT)
            and is_column(part.left, "", group.event_time)
            and timestamp_literal(part.right) == lower
        ]
        if not literal_bounds:
            problems.append(f"reads {group.name} without a literal bound at {lower} on {group.event_time}")
    if not reads:
        problems.append(f"never reads {group.name}: the stored computed_at of unchanged rows is lost")
    kept = set()
    for node in statement.find_all(exp.NullSafeEQ):
        if isinstance(node.right, exp.Column) and node.right.table == "fg_stored":
            kept.add(node.right.name)
    value_columns = set(model_columns(group.name)) - set(group.unique_key) - {"computed_at"}
    if kept != value_columns:
        problems.append(f"keeps computed_at when {sorted(kept)} are unchanged; expected {sorted(value_columns)}")
    return problems


# sqlglot gives these two properties classes of their own (and would render location as external_location).
TYPED_PROPERTIES: Mapping[type[exp.Expression], str] = {
    exp.LocationProperty: "location",
    exp.FileFormatProperty: "format",
}


def ctas_properties(sql: str) -> tuple[exp.Create, dict[str, exp.Expression]]:
    create = sqlglot.parse_one(sql, read="athena")
    assert isinstance(create, exp.Create) and create.kind == "TABLE", sql[:200]
    properties: dict[str, exp.Expression] = {}
    for prop in create.args["properties"].expressions:
        if type(prop) is exp.Property:
            properties[prop.name.lower()] = prop.args["value"]
        elif type(prop) in TYPED_PROPERTIES:
            properties[TYPED_PROPERTIES[type(prop)]] = prop.this
        else:
            raise AssertionError(f"unexpected CTAS property {prop.sql('athena')}")
    return create, properties


def only(statements: Sequence[Statement], pattern: str, what: str) -> Statement:
    matching = [s for s in statements if re.match(pattern, s.sql, re.IGNORECASE)]
    assert len(matching) == 1, f"expected one {what}, found {len(matching)}: " + "\n".join(
        s.sql[:200] for s in statements
    )
    return matching[0]


def ctas_of(statements: Sequence[Statement], table: str, schema: str = FEATURES_SCHEMA) -> Statement:
    return only(statements, rf'create\s+table\s+"awsdatacatalog"\."{schema}"\."{table}"\s', f"CTAS of {table}")


def created_table(sql: str) -> str:
    """The name of the table a CTAS creates."""
    match = CTAS.match(sql)
    assert match is not None, sql[:200]
    return match["table"]


def ctas_problems(
    sql: str,
    table: str,
    location_table: str,
    partitioning: str | None = PARTITIONING,
    schema: str = FEATURES_SCHEMA,
) -> list[str]:
    """An Iceberg CTAS partitioned as given, at a fresh uuid-suffixed S3 location."""
    create, properties = ctas_properties(sql)
    problems = []
    if create.this.name != table:
        problems.append(f"creates {create.this.sql('athena')}")
    values = {
        name: value.name if isinstance(value, exp.Literal) else value.sql("athena")
        for name, value in properties.items()
    }
    if values.get("table_type", "").lower() != "iceberg":
        problems.append(f"table_type is {values.get('table_type')}")
    spec = properties.get("partitioning")
    found = [e.name for e in spec.expressions] if isinstance(spec, exp.Array) else spec
    if found != ([partitioning] if partitioning else None):
        problems.append(f"partitioning is {values.get('partitioning')}, expected {partitioning}")
    if values.get("format") != "parquet":
        problems.append(f"format is {values.get('format')}")
    location = rf"s3://{DATA_BUCKET}/{schema}/{location_table}/{UUID}"
    if not re.fullmatch(location, values.get("location", "")):
        problems.append(f"location {values.get('location')} is not {location}")
    return problems


def recent_watermark_problems(sql: str, column: str, partition_column: str) -> list[str]:
    """newest_value()'s first query: max(column) over the partitions since a literal day a few days before the
    run (the run may have started the day before this check)."""
    match = WATERMARK_QUERY.match(sql)
    if match is None:
        return [f"not a watermark query: {sql[:200]}"]
    problems = []
    if match["column"] != column:
        problems.append(f"reads max({match['column']}), expected max({column})")
    if match["partition_column"] != partition_column or match["since"] is None:
        problems.append(f"not bounded by a literal on {partition_column}: {sql}")
        return problems
    today = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    expected = {
        dt.datetime(day.year, day.month, day.day) - dt.timedelta(days=RECENT_DAYS)
        for day in (today, today - dt.timedelta(days=1))
    }
    if dt.datetime.fromisoformat(match["since"]) not in expected:
        problems.append(f"bound {match['since']} is not {RECENT_DAYS} days before the run's day")
    return problems


# --- the harness on known input: it must be able to fail ---


def test_watermark_check_accepts_a_bounded_query_and_flags_an_unbounded_one() -> None:
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=RECENT_DAYS)).strftime("%Y-%m-%d 00:00:00")
    relation = f'"awsdatacatalog"."{FEATURES_SCHEMA}"."user_engagement"'
    bounded = f"select max(last_active_at) from {relation} where effective_at >= timestamp '{since}'"
    assert recent_watermark_problems(bounded, "last_active_at", "effective_at") == []
    assert recent_watermark_problems(bounded.split(" where ")[0], "last_active_at", "effective_at")
    assert recent_watermark_problems(bounded.replace(since[:4], "1999"), "last_active_at", "effective_at")


GOOD_MERGE = f"""merge into "awsdatacatalog"."{FEATURES_SCHEMA}"."user_engagement" as target
using "awsdatacatalog"."{FEATURES_SCHEMA}"."user_engagement__dbt_tmp_0c4b1f9e_1d2a_4b7c_9e8f_0123456789ab" as src
on (target.user_id = src.user_id and target.effective_at = src.effective_at
    and (target.effective_at >= timestamp '2026-10-03 04:05:00'))
when matched then update set "clicks_1h" = src."clicks_1h"
when not matched then insert ("user_id", "effective_at") values (src."user_id", src."effective_at")"""


def test_merge_check_accepts_a_good_merge() -> None:
    assert merge_problems(GOOD_MERGE, FEATURE_GROUPS[0], dt.datetime(2026, 10, 3, 4, 5), None) == []


def _with_update_condition(merge: str, condition: str) -> str:
    return merge.replace("when matched then", f"when matched and ({condition}) then")


def test_update_condition_check() -> None:
    group = FEATURE_GROUPS[0]
    good = "target.computed_at is distinct from src.computed_at"
    assert update_condition_problems(_with_update_condition(GOOD_MERGE, good), group) == []
    assert "no update condition" in update_condition_problems(GOOD_MERGE, group)[0]
    not_null_safe = good.replace(" is distinct from ", " <> ")
    assert update_condition_problems(_with_update_condition(GOOD_MERGE, not_null_safe), group)
    other_column = good.replace("computed_at", "clicks_1h")
    assert update_condition_problems(_with_update_condition(GOOD_MERGE, other_column), group)


def test_stored_row_check() -> None:
    group = FEATURE_GROUPS[0]
    lower = dt.datetime(2026, 10, 3, 4, 5)
    columns = [c for c in model_columns(group.name) if c not in group.unique_key and c != "computed_at"]
    same = " and ".join(f"features.{c} is not distinct from fg_stored.{c}" for c in columns)
    table = f'"awsdatacatalog"."{FEATURES_SCHEMA}"."{group.name}"'
    good = (
        f"select case when {same} then fg_stored.computed_at end as computed_at from features "
        f"left join (select * from {table} where effective_at >= timestamp '2026-10-03 04:05:00') as fg_stored "
        "on features.user_id = fg_stored.user_id"
    )
    assert stored_row_problems(good, group, lower) == []
    unbounded = good.replace(" where effective_at >= timestamp '2026-10-03 04:05:00'", "")
    assert any("without a literal bound" in p for p in stored_row_problems(unbounded, group, lower))
    missing = good.replace(f"features.{columns[0]} is not distinct from fg_stored.{columns[0]} and ", "")
    assert any("keeps computed_at" in p for p in stored_row_problems(missing, group, lower))


@pytest.mark.parametrize(
    ("doctored", "flagged"),
    [
        pytest.param(
            GOOD_MERGE.replace(
                "timestamp '2026-10-03 04:05:00'",
                f'(select max(effective_at) from "awsdatacatalog"."{FEATURES_SCHEMA}"."user_engagement")',
            ),
            "subquery",
            id="subquery-bound",
        ),
        pytest.param(GOOD_MERGE.replace("04:05:00", "04:10:00"), "expected literal", id="wrong-bound"),
        pytest.param(
            GOOD_MERGE.replace(" and target.effective_at = src.effective_at", ""), "joins on", id="key-missing"
        ),
        pytest.param(
            GOOD_MERGE.replace("target.effective_at >=", "src.effective_at >="), "expected literal", id="source-bound"
        ),
    ],
)
def test_merge_check_flags(doctored: str, flagged: str) -> None:
    problems = merge_problems(doctored, FEATURE_GROUPS[0], dt.datetime(2026, 10, 3, 4, 5), None)
    assert any(flagged in p for p in problems), problems


@pytest.mark.parametrize(
    ("sql", "ok"),
    [
        ('optimize "awsdatacatalog"."s"."t" rewrite data using bin_pack', True),
        ('optimize "awsdatacatalog"."s"."t" rewrite data using bin_pack where day >= date \'2026-10-01\'', True),
        ('vacuum "awsdatacatalog"."s"."t"', True),
        ("alter table `s`.`t` set tblproperties ('classification' = 'parquet')", True),
        ('optimize "awsdatacatalog"."s"."t" rewrite data', False),
        ('vacuum "awsdatacatalog"."s"."t" retain 0 hours', False),
        ("merge into t using s on (t.id = s.id) when matched then update set x = s.x)", False),
        ("create table t with (table_type='iceberg' as select 1", False),
    ],
)
def test_statement_check(sql: str, ok: bool) -> None:
    assert (sql_problems(sql) == []) is ok, sql_problems(sql)


# --- the runs ---

GROUP_IDS = [g.name for g in FEATURE_GROUPS]


@pytest.mark.parametrize("run_name", RUNS)
def test_every_statement_is_valid_athena_sql(runs: dict[str, Run], run_name: str) -> None:
    problems = {s.sql[:120]: sql_problems(s.sql) for s in runs[run_name].statements}
    assert {k: v for k, v in problems.items() if v} == {}


@pytest.mark.parametrize("group", FEATURE_GROUPS, ids=GROUP_IDS)
def test_first_build_is_an_iceberg_ctas(runs: dict[str, Run], group: FeatureGroup) -> None:
    statements = runs["first_build"].of(group.name)
    assert ctas_problems(ctas_of(statements, group.name).sql, group.name, group.name, f"day({group.event_time})") == []
    assert not [s for s in statements if re.match(r"(merge|delete|select\s+max)\b", s.sql, re.IGNORECASE)]


@pytest.mark.parametrize("group", FEATURE_GROUPS, ids=GROUP_IDS)
def test_incremental_run_merges_with_a_literal_lower_bound(runs: dict[str, Run], group: FeatureGroup) -> None:
    statements = runs["incremental"].of(group.name)
    # The watermark is read before the query is rendered, from the target table itself, and only from its
    # recent partitions (the fake answers it, so the whole-table fallback is not needed).
    watermark = only(statements, r"select\s+max\(", "watermark query")
    assert recent_watermark_problems(watermark.sql, group.watermark_column, group.event_time) == []
    tmp = ctas_of(statements, group.name + UNIQUE_TMP)
    tmp_name = created_table(tmp.sql)
    # dbt-athena creates temporary tables unpartitioned (only the MERGE's target is).
    assert ctas_problems(tmp.sql, tmp_name, tmp_name, partitioning=None) == []
    # The new rows are computed from the literal bounds alone: the model reads its own table only within a
    # literal bound (a `select max(...)` from it inside the model would scan every partition).
    assert stored_row_problems(tmp.sql, group, group.incremental_lower_bound()) == []
    merge = only(statements, r"merge\b", "MERGE")
    assert statements.index(watermark) < statements.index(tmp) < statements.index(merge)
    assert merge_problems(merge.sql, group, group.incremental_lower_bound(), None) == []
    assert update_condition_problems(merge.sql, group) == []
    assert not [s for s in statements if re.match(r"delete\b", s.sql, re.IGNORECASE)]
    # The temporary table is dropped again (through Glue).
    assert not [name for name in runs["incremental"].tables if name.startswith(group.name + TMP_SUFFIX)]


@pytest.mark.parametrize("group", FEATURE_GROUPS, ids=GROUP_IDS)
def test_backfill_merges_and_deletes_within_literal_bounds(runs: dict[str, Run], group: FeatureGroup) -> None:
    statements = runs["backfill"].of(group.name)
    assert not [s for s in statements if s.sql.lower().startswith("select max(")], "a backfill needs no watermark"
    merge = only(statements, r"merge\b", "MERGE")
    # The range's real end: extended by the longest window and a grain (windowed groups), to the table's end
    # (groups with a lifetime feature: no upper bound), or as requested (attribute groups). The MERGE
    # includes that end itself (the rows where the kept history resumes), the DELETE excludes it.
    if group.lifetime:
        end = None
    elif group.longest_seconds:
        end = BACKFILL_END + dt.timedelta(seconds=group.longest_seconds + group.grain_seconds)
    else:
        end = BACKFILL_END
    assert merge_problems(merge.sql, group, BACKFILL_START, None) == []
    on = sqlglot.parse_one(merge.sql, read="athena").args["on"]
    inclusive = [
        timestamp_literal(part.right)
        for part in flat_conjuncts(on)
        if isinstance(part, exp.LTE) and is_column(part.left, "target", group.event_time)
    ]
    assert inclusive == ([end] if end else [])
    assert update_condition_problems(merge.sql, group) == []
    delete = only(statements, r"delete\b", "DELETE")
    assert statements.index(merge) < statements.index(delete), "the stale-row DELETE must run after the MERGE"
    parsed = sqlglot.parse_one(delete.sql, read="athena")
    assert isinstance(parsed, exp.Delete)
    assert (parsed.this.name, parsed.this.db) == (group.name, FEATURES_SCHEMA)
    where = parsed.args["where"].this
    # The unqualified event-time column: a DELETE has no alias.
    assert bound_problems(where, "", group.event_time, BACKFILL_START, end) == []
    # Only rows this run did not rewrite: computed_at before this invocation's literal start time.
    (stale,) = [p for p in flat_conjuncts(where) if isinstance(p, exp.Or)]
    assert isinstance(stale.left, exp.Is) and is_column(stale.left.this, "", "computed_at")
    assert isinstance(stale.right, exp.LT) and is_column(stale.right.left, "", "computed_at")
    cast = stale.right.right
    assert isinstance(cast, exp.Cast) and cast.to.sql("athena").upper() == "TIMESTAMP(6)"
    assert timestamp_literal(cast.this) is not None, cast.sql("athena")


@pytest.mark.parametrize("group", FEATURE_GROUPS, ids=GROUP_IDS)
def test_full_refresh_rebuilds_at_a_new_location(runs: dict[str, Run], group: FeatureGroup) -> None:
    run = runs["full_refresh"]
    statements = run.of(group.name)
    assert not [s for s in statements if re.match(r"(merge|delete|select\s+max)\b", s.sql, re.IGNORECASE)]
    # dbt-athena's "high availability" path: the new table is built as __dbt_tmp under the *target's*
    # S3 prefix, then swapped in by two renames.
    ctas = ctas_of(statements, group.name + TMP_SUFFIX)
    assert ctas_problems(ctas.sql, group.name + TMP_SUFFIX, group.name, f"day({group.event_time})") == []
    renames = [m.groupdict() for s in run.statements if (m := RENAME_TABLE.match(s.sql)) and group.name in s.sql]
    assert [(r["table"], r["to_table"]) for r in renames] == [
        (group.name, group.name + "__bkp"),
        (group.name + TMP_SUFFIX, group.name),
    ]
    new_location = CTAS_LOCATION.search(ctas.sql)["location"]  # type: ignore[index]
    old_location = CTAS_LOCATION.search(ctas_of(runs["first_build"].of(group.name), group.name).sql)["location"]  # type: ignore[index]
    assert new_location != old_location
    assert run.tables[group.name]["StorageDescriptor"]["Location"] == new_location
    assert not {group.name + TMP_SUFFIX, group.name + "__bkp"} & set(run.tables)


@pytest.mark.parametrize("run_name", ["first_build", "full_refresh"])
@pytest.mark.parametrize("group", FEATURE_GROUPS, ids=GROUP_IDS)
def test_descriptions_are_persisted_to_glue(runs: dict[str, Run], group: FeatureGroup, run_name: str) -> None:
    table = runs[run_name].tables[group.name]

    def words(text: str) -> str:
        return " ".join(text.split())

    assert words(table.get("Description", "")) == words(model_description(group.name))
    comments = {c["Name"]: words(c.get("Comment", "")) for c in table["StorageDescriptor"]["Columns"]}
    assert comments == {name: words(c["description"]) for name, c in model_columns(group.name).items()}


@pytest.mark.parametrize("group", FEATURE_GROUPS, ids=GROUP_IDS)
def test_the_definition_fingerprint_is_kept_in_glue_across_runs(runs: dict[str, Run], group: FeatureGroup) -> None:
    """The post-hook stores the definition record as the Glue table parameter `featurestore_definition` (Athena
    refuses custom Iceberg table properties) after every run, and each later run reads it back before its
    query: the incremental run and the backfill neither adopt the table again nor refuse it."""
    records = {
        name: json.loads(run.tables[group.name]["Parameters"]["featurestore_definition"]) for name, run in runs.items()
    }
    fingerprints = {record["fingerprint"] for record in records.values()}
    assert len(fingerprints) == 1 and re.fullmatch(r"[0-9a-f]{32}", fingerprints.pop())
    assert all(record["mixed_before"] is None for record in records.values())
    for name in ("incremental", "backfill"):
        assert "has no definition fingerprint" not in runs[name].result.output
        assert "[definition_changed]" not in runs[name].result.output
    # Glue only: no statement tries to set it as an Iceberg table property.
    assert not [s for run in runs.values() for s in run.of(group.name) if "featurestore_definition" in s.sql]


@pytest.mark.parametrize("group", FEATURE_GROUPS, ids=GROUP_IDS)
def test_feature_group_views_are_created_with_glue_descriptions(runs: dict[str, Run], group: FeatureGroup) -> None:
    """The post-hook's views (docs/bi.md) after every run, with the view's and each column's description
    written to Glue (Athena's CREATE VIEW takes no comment)."""
    for name, run in runs.items():
        created = [s.sql for s in run.of(group.name) if CREATE_VIEW.match(s.sql)]
        assert [CREATE_VIEW.match(sql)["table"] for sql in created] == [  # type: ignore[index]
            f"{group.name}__current",
            f"{group.name}__validity",
        ], name
    columns = model_columns(group.name)
    for suffix in ("__current", "__validity"):
        view = runs["full_refresh"].tables[group.name + suffix]
        assert view["TableType"] == "VIRTUAL_VIEW"
        assert f"feature group {group.name}" in view["Description"] and "docs/bi.md" in view["Description"]
        comments = {c["Name"]: " ".join(c.get("Comment", "").split()) for c in view["StorageDescriptor"]["Columns"]}
        for name, column in columns.items():
            if name != "computed_at":
                assert comments[name] == " ".join(column["description"].split())[:255], (suffix, name)
    assert "valid_until" in {
        c["Name"] for c in runs["full_refresh"].tables[group.name + "__validity"]["StorageDescriptor"]["Columns"]
    }


# --- the incremental staging models ---

STAGING_IDS = [m.name for m in STAGING_MODELS]


@pytest.mark.parametrize("model", STAGING_MODELS, ids=STAGING_IDS)
def test_staging_first_build_is_an_iceberg_ctas_over_all_raw_partitions(
    runs: dict[str, Run], model: StagingModel
) -> None:
    statements = runs["first_build"].of(model.name)
    ctas = ctas_of(statements, model.name, STAGING_SCHEMA)
    partitioning = f"day({model.event_time})"
    assert ctas_problems(ctas.sql, model.name, model.name, partitioning, STAGING_SCHEMA) == []
    assert not re.search(r"\bdt\s*>=", ctas.sql), "a first build reads every raw partition"
    assert not [s for s in statements if re.match(r"(merge|select\s+(max|min))\b", s.sql, re.IGNORECASE)]


@pytest.mark.parametrize("model", STAGING_MODELS, ids=STAGING_IDS)
def test_staging_micro_batch_reads_new_raw_partitions_and_merges_within_a_literal_bound(
    runs: dict[str, Run], model: StagingModel
) -> None:
    statements = runs["incremental"].of(model.name)
    # 1. The newest ingestion already staged, from the staging table's recent partitions only.
    watermark = only(statements, r"select\s+max\(", "watermark query")
    assert recent_watermark_problems(watermark.sql, "ingested_at", model.event_time) == []
    # 2. The oldest event time in the raw partitions from the day before it: a literal `dt` bound.
    batch = only(statements, r"select\s+min\(", "batch query")
    match = BATCH_QUERY.match(batch.sql)
    assert match is not None and (match["column"], match["table"]) == (model.event_time, model.base), batch.sql
    assert match["dt_from"] == STAGING_DT_FROM
    # 3. The temporary table reads raw rows of those partitions only, and staged ids from the batch's
    # oldest event time on, both as literals.
    tmp = ctas_of(statements, model.name + UNIQUE_TMP, STAGING_SCHEMA)
    select = sqlglot.parse_one(tmp.sql, read="athena").expression
    reads = {
        table.name: table.find_ancestor(exp.Select)
        for table in select.find_all(exp.Table)
        if table.name in {model.base, model.name}
    }
    assert set(reads) == {model.base, model.name}, tmp.sql
    dt_bounds = [
        part.right.name
        for part in flat_conjuncts(reads[model.base].args["where"].this)
        if isinstance(part, exp.GTE) and isinstance(part.left, exp.Column) and part.left.name == "dt"
    ]
    assert dt_bounds == [STAGING_DT_FROM], reads[model.base].sql("athena")
    staged_where = reads[model.name].args["where"].this
    assert bound_problems(staged_where, "", model.event_time, BATCH_EVENTS_FROM, None) == []
    # 4. The MERGE joins on the id and bounds the target by the same literal.
    merge = only(statements, r"merge\b", "MERGE")
    order = [statements.index(s) for s in (watermark, batch, tmp, merge)]
    assert order == sorted(order)
    assert merge_problems(merge.sql, model, BATCH_EVENTS_FROM, None) == []


def test_staging_check_flags_a_merge_without_its_literal_bound() -> None:
    model = STAGING_MODELS[0]
    merge = f"""merge into "awsdatacatalog"."{STAGING_SCHEMA}"."{model.name}" as target
using "awsdatacatalog"."{STAGING_SCHEMA}"."{model.name}__dbt_tmp_0c4b1f9e_1d2a_4b7c_9e8f_0123456789ab" as src
on (target.impression_id = src.impression_id and (target.shown_at >= timestamp '2026-10-01 22:13:05'))
when matched then update set "user_id" = src."user_id"
when not matched then insert ("impression_id") values (src."impression_id")"""
    assert merge_problems(merge, model, BATCH_EVENTS_FROM, None) == []
    unbounded = merge.replace(" and (target.shown_at >= timestamp '2026-10-01 22:13:05')", "")
    assert any("expected literal" in p for p in merge_problems(unbounded, model, BATCH_EVENTS_FROM, None))


# --- two writers of one group at once ---

FEATURESTORE = Path(sys.executable).parent / "featurestore"


def test_two_runs_of_one_group_get_their_own_temporary_tables_and_take_turns(
    runs: dict[str, Run], effects: AthenaCatalogEffects, athena_dbt: Dbt, tmp_path: Path
) -> None:
    """Two micro-batches of user_engagement started at once through `featurestore run` (say a scheduler's
    overlap, or a micro-batch beside a backfill chunk): each builds its own uniquely named temporary table,
    and the second waits for the first's writer lease (a DynamoDB item, here in moto) before it sends its
    first statement, so their statements do not interleave."""
    group = FEATURE_GROUPS[0]
    env = {
        **athena_dbt.env,
        "FEATURESTORE_ATHENA_SCHEMA": ATHENA_SCHEMA,
        "FEATURESTORE_DYNAMODB_TABLE_PREFIX": f"c{uuid.uuid4().hex[:8]}_",
        "DBT_PARTIAL_PARSE": "false",
    }
    first = len(effects.statements)
    processes = []
    for index in range(2):
        work = tmp_path / f"run{index}"
        work.mkdir()
        command = [str(FEATURESTORE), "run", "--select", group.name, "--target", "athena"]
        command += ["--project-dir", str(PROJECT_DIR)]
        run_env = {**env, "DBT_TARGET_PATH": str(work / "target"), "DBT_LOG_PATH": str(work / "logs")}
        out = (work / "out.txt").open("wb")
        processes.append((subprocess.Popen(command, env=run_env, stdout=out, stderr=subprocess.STDOUT), work, out))
    for process, work, out in processes:
        process.wait(timeout=900)
        out.close()
        assert process.returncode == 0, (work / "out.txt").read_text()[-3000:]
    assert not effects.errors, "\n".join(effects.errors)
    statements = [s for s in effects.statements[first:] if s.model == group.name]
    tmp_names = [created_table(s.sql) for s in statements if CTAS.match(s.sql)]
    assert len(tmp_names) == 2 and len(set(tmp_names)) == 2, tmp_names
    assert all(re.fullmatch(group.name + UNIQUE_TMP, name) for name in tmp_names), tmp_names
    # Each run: its watermark query, then the statements naming its temporary table; the second run's
    # watermark query comes only after the first run's last statement.
    labels = []
    for statement in statements:
        if WATERMARK_QUERY.match(statement.sql):
            labels.append("w")
        else:
            named = [str(i) for i, name in enumerate(tmp_names) if name in statement.sql]
            labels.append("".join(named) or "-")
    sequence = "".join(label for label in labels if label != "-")
    assert re.fullmatch(r"w0+w1+", sequence), f"interleaved: {sequence}"
