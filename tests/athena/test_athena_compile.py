"""`dbt compile --target athena` against a local moto server, and checks on the SQL it produces.

Athena itself is not reachable from CI, so this is the only guard against SQL that DuckDB accepts but
Athena (Trino) rejects: every compiled file must parse as Athena SQL, must not use DuckDB-only syntax,
and the feature groups must be configured and typed the way Iceberg on Athena needs.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
import sqlglot
import yaml
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import TokenType
from support.local_project import copy_project

if TYPE_CHECKING:
    # Types only: at run time everything comes through fixtures, which work under any import mode.
    from conftest import AthenaEnv, Dbt, DbtResult

PROJECT_DIR = Path(__file__).resolve().parents[2]
TestFunction = TypeVar("TestFunction", bound=Callable[..., None])


def needs_athena_compile(test: TestFunction) -> TestFunction:
    """Marks a test that waits for the module's dbt compiles against moto (so `-m "not slow"` skips it)."""
    marked: TestFunction = pytest.mark.aws(pytest.mark.dbt(pytest.mark.slow(test)))
    return marked


ATHENA_COMPILE = ("compile", "--target", "athena")
# What a copy of the project needs to compile (no data, no local build state).
# dbt reads test-paths' `generic/` folders as test definitions (macros), which compile to nothing.
GENERIC_TESTS_DIR = "tests/dbt/generic"

# Syntax DuckDB accepts and Athena (Trino) rejects; sqlglot parses most of it (an unknown function is
# just a function), so it has to be looked for explicitly.
DUCKDB_ONLY = {
    "epoch()": re.compile(r"\bepoch(?:_ms|_us|_ns)?\s*\(", re.IGNORECASE),
    "read_parquet()/read_csv()/read_json()": re.compile(r"\bread_(?:parquet|csv|json)\w*\s*\(", re.IGNORECASE),
    "ASOF join": re.compile(r"\basof\b", re.IGNORECASE),
    ":: cast": re.compile(r"::"),
    "strftime()/strptime()": re.compile(r"\bstr[fp]time\s*\(", re.IGNORECASE),
    "QUALIFY": re.compile(r"\bqualify\b", re.IGNORECASE),
    "SELECT * EXCLUDE/REPLACE": re.compile(r"\*\s*(?:exclude|replace)\b", re.IGNORECASE),
}
# Strings and comments are blanked before the search: `'asof'` in an accepted_values test is not a join.
STRINGS_AND_COMMENTS = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.DOTALL)

# Athena's Iceberg tables store timestamps in microseconds; a CTAS or MERGE of a timestamp(3) column
# (Athena's default precision) fails with "Incorrect timestamp precision".
ICEBERG_TIMESTAMP_PRECISION = "6"
TIMESTAMP_TYPES = ("timestamp", "timestamptz", "timestampltz", "datetime")
FEATURE_GROUP_STRATEGIES = ("merge", "append")

ATHENA = Dialect.get_or_raise("athena")


def _checked_sources() -> list[str]:
    """Project files that compile to SQL, relative to the project: models, singular tests, and the
    YAML files whose data tests compile into a folder named after them."""
    patterns = ("models/**/*.sql", "models/**/*.yml", "seeds/**/*.yml", "tests/dbt/**/*.sql")
    return sorted(
        path.relative_to(PROJECT_DIR).as_posix()
        for pattern in patterns
        for path in PROJECT_DIR.glob(pattern)
        if not path.relative_to(PROJECT_DIR).as_posix().startswith(f"{GENERIC_TESTS_DIR}/")
    )


# Known at collection time (the compile only runs in a fixture), so each failure names its source file.
CHECKED_SOURCES = _checked_sources()


def compiled_files_of(compiled_root: Path, source: str) -> list[Path]:
    """The compiled SQL of one source file: the file itself for .sql, the folder of its tests for .yml."""
    compiled = compiled_root / source
    if source.endswith(".sql"):
        return [compiled] if compiled.is_file() else []
    return sorted(compiled.glob("*.sql")) if compiled.is_dir() else []


def unbalanced_parenthesis(sql: str) -> str | None:
    """Where the parentheses of `sql` (outside strings and comments) stop matching, if they do.

    sqlglot accepts `cast(x as timestamp(6) as y, ...` (a CAST missing its `)`) and returns the query
    with the parenthesis restored, so its parse alone misses exactly the typo a macro edit tends to make.
    """
    open_parens: list[tuple[int, int]] = []
    for token in ATHENA.tokenize(sql):
        if token.token_type == TokenType.L_PAREN:
            open_parens.append((token.line, token.col))
        elif token.token_type == TokenType.R_PAREN:
            if not open_parens:
                return f"unmatched ')' at line {token.line}, col {token.col}"
            open_parens.pop()
    if open_parens:
        line, col = open_parens[-1]
        return f"unclosed '(' at line {line}, col {col}"
    return None


def parse_errors(files: Iterable[Path], root: Path) -> dict[str, str]:
    """Files (relative to `root`) that are not valid Athena SQL as far as sqlglot can tell, with why."""
    errors: dict[str, str] = {}
    for path in files:
        sql = path.read_text()
        try:
            statements = sqlglot.parse(sql, read="athena")
        except sqlglot.errors.ParseError as error:
            errors[path.relative_to(root).as_posix()] = str(error)
            continue
        problem = unbalanced_parenthesis(sql)
        if problem is None and not any(statement is not None for statement in statements):
            problem = "no SQL statement"
        if problem is not None:
            errors[path.relative_to(root).as_posix()] = problem
    return errors


def duckdb_only_syntax(sql: str) -> list[str]:
    code = STRINGS_AND_COMMENTS.sub("''", sql)
    return [name for name, pattern in DUCKDB_ONLY.items() if pattern.search(code)]


def _project_compiled_root(result: DbtResult) -> Path:
    # dbt nests compiled files under the project's name.
    (root,) = result.compiled_path.iterdir()
    return root


@dataclasses.dataclass(frozen=True)
class Compiles:
    project: DbtResult
    # A copy of the project with a syntax error in an Athena-only macro branch.
    sabotaged: DbtResult
    sabotaged_macro: str


SABOTAGED_MACRO_FILE = "macros/cast_timestamp.sql"
ATHENA_CAST_TIMESTAMP = re.compile(
    r"(\{%-?\s*macro\s+athena__cast_timestamp\(expr\)\s*-?%\})(.*?)(\{%-?\s*endmacro\s*-?%\})", re.DOTALL
)
# The missing parenthesis only breaks Athena's SQL: DuckDB's branch and dbt's own compile are unaffected.
SABOTAGED_ATHENA_CAST = "\n    cast({{ expr }} as timestamp(6)\n"


def _copy_project_with_sabotage(destination: Path) -> None:
    copy_project(destination)
    macro = destination / SABOTAGED_MACRO_FILE
    text, replaced = ATHENA_CAST_TIMESTAMP.subn(rf"\1{SABOTAGED_ATHENA_CAST}\3", macro.read_text())
    assert replaced == 1, f"athena__cast_timestamp not found in {SABOTAGED_MACRO_FILE}: update this test"
    macro.write_text(text)


@pytest.fixture(scope="module")
def compiles(athena_dbt: Dbt, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Compiles]:
    """Both compiles of this module, run concurrently: each is ~12 s of mostly single-threaded parsing,
    so overlapping them keeps the module well under a minute on a two-core runner."""
    work = tmp_path_factory.mktemp("athena-compile")
    sabotaged_project = work / "sabotaged-project"
    _copy_project_with_sabotage(sabotaged_project)
    project_run = athena_dbt.start(ATHENA_COMPILE, work / "project")
    sabotaged_run = athena_dbt.start(ATHENA_COMPILE, work / "sabotaged", sabotaged_project)
    try:
        yield Compiles(
            project=project_run.wait(),
            sabotaged=sabotaged_run.wait(),
            sabotaged_macro=SABOTAGED_MACRO_FILE,
        )
    finally:
        # Only on an error above is either still running; never leave a dbt behind the session.
        for run in (project_run, sabotaged_run):
            if run.process.poll() is None:
                run.process.kill()
                run.process.wait()


@pytest.fixture(scope="module")
def athena_compile(compiles: Compiles) -> DbtResult:
    if not compiles.project.ok:
        pytest.fail(f"dbt compile --target athena failed:\n{compiles.project.describe()}", pytrace=False)
    return compiles.project


@pytest.fixture(scope="module")
def manifest(athena_compile: DbtResult) -> dict[str, Any]:
    return athena_compile.manifest()


@pytest.fixture(scope="module")
def feature_groups(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    groups = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("meta", {}).get("feature_group")
    }
    # Every check below would pass vacuously if the feature_group meta moved or was renamed.
    assert groups, "no model has config.meta.feature_group in the athena manifest"
    return groups


@needs_athena_compile
def test_compile_writes_only_to_its_own_target_path(athena_compile: DbtResult) -> None:
    """The project's target/ holds the local DuckDB build and its partial-parse state; an athena compile
    writing there would make the next local run re-parse or, worse, reuse athena-parsed state."""
    assert athena_compile.ok, athena_compile.describe()
    assert (athena_compile.target_path / "manifest.json").is_file()
    assert (athena_compile.target_path / "partial_parse.msgpack").is_file()
    log = (athena_compile.log_path / "dbt.log").read_text()
    written = [Path(path) for path in re.findall(r"Wrote artifact \w+ to (\S+)", log)]
    assert written, "dbt logged no artifact writes: has its log format changed?"
    elsewhere = [str(path) for path in written if not path.is_relative_to(athena_compile.target_path)]
    assert not elsewhere, f"artifacts written outside the temporary target path: {elsewhere}"


@needs_athena_compile
def test_every_model_and_test_was_compiled(athena_compile: DbtResult, manifest: dict[str, Any]) -> None:
    missing = [
        node["unique_id"]
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "test")
        and not (athena_compile.compiled_path / node["package_name"] / node["original_file_path"]).exists()
    ]
    assert not missing, f"compiled SQL missing for: {missing}"


@needs_athena_compile
def test_every_compiled_file_is_checked(athena_compile: DbtResult) -> None:
    """The per-source tests below cover every compiled file (e.g. a new kind of node cannot slip past)."""
    root = _project_compiled_root(athena_compile)
    covered = {path for source in CHECKED_SOURCES for path in compiled_files_of(root, source)}
    unchecked = sorted(p.relative_to(root).as_posix() for p in set(root.rglob("*.sql")) - covered)
    assert not unchecked, f"compiled files no per-source test checks: {unchecked}"


@needs_athena_compile
@pytest.mark.parametrize("source", CHECKED_SOURCES)
def test_compiled_sql_parses_as_athena(athena_compile: DbtResult, source: str) -> None:
    root = _project_compiled_root(athena_compile)
    files = compiled_files_of(root, source)
    if not files:
        pytest.skip("compiles to no SQL (a YAML file without data tests, or a disabled node)")
    errors = parse_errors(files, root)
    assert not errors, "\n\n".join(f"{path}:\n{error}" for path, error in errors.items())


@needs_athena_compile
@pytest.mark.parametrize("source", CHECKED_SOURCES)
def test_compiled_sql_has_no_duckdb_only_syntax(athena_compile: DbtResult, source: str) -> None:
    root = _project_compiled_root(athena_compile)
    files = compiled_files_of(root, source)
    if not files:
        pytest.skip("compiles to no SQL (a YAML file without data tests, or a disabled node)")
    found = {path.relative_to(root).as_posix(): duckdb_only_syntax(path.read_text()) for path in files}
    found = {path: names for path, names in found.items() if names}
    assert not found, f"DuckDB-only syntax in Athena SQL: {found}"


@needs_athena_compile
def test_feature_groups_are_iceberg_with_an_explicit_incremental_strategy(
    feature_groups: dict[str, dict[str, Any]],
) -> None:
    problems = []
    for name, node in feature_groups.items():
        config = node["config"]
        if config.get("table_type") != "iceberg":
            # Hive tables cannot be merged into, nor time-travelled for point-in-time reads.
            problems.append(f"{name}: table_type={config.get('table_type')!r}, expected 'iceberg'")
        if config.get("incremental_strategy") not in FEATURE_GROUP_STRATEGIES:
            problems.append(
                f"{name}: incremental_strategy={config.get('incremental_strategy')!r}, "
                f"expected one of {FEATURE_GROUP_STRATEGIES}"
            )
        if config.get("incremental_strategy") == "merge" and not config.get("unique_key"):
            problems.append(f"{name}: a merge needs a unique_key")
        if not config.get("partitioned_by"):
            # An unpartitioned Iceberg table makes every incremental MERGE scan the whole history.
            problems.append(f"{name}: partitioned_by is not set")
    assert not problems, "\n".join(problems)


@needs_athena_compile
def test_feature_groups_write_to_unique_s3_locations(
    feature_groups: dict[str, dict[str, Any]], athena_env: AthenaEnv
) -> None:
    """A `*_unique` location gives each full refresh a fresh S3 prefix, so a rebuild cannot race readers
    of the old table or leave its files mixed with the new ones."""
    profile = yaml.safe_load((athena_env.profiles_dir / "profiles.yml").read_text())
    profile_naming = profile["featurestore"]["outputs"]["athena"].get("s3_data_naming")
    problems = []
    for name, node in feature_groups.items():
        naming = node["config"].get("s3_data_naming")
        effective = profile_naming if naming is None else naming
        if not str(effective).endswith("_unique"):
            origin = "profile's" if naming is None else "model's"
            problems.append(f"{name}: s3_data_naming={effective!r} (the {origin}), expected '*_unique'")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select cast(a as timestamp(6)) as a from t", None),
        ("select ')' as a, f(b) as b -- (\nfrom t", None),
        # sqlglot's parser alone accepts this one; the parenthesis count must catch it.
        ("select cast(a as timestamp(6) as a, b from t", "unclosed '('"),
        ("select to_unixtim e(a) from t", "Invalid expression"),
    ],
)
def test_parse_check_on_known_sql(tmp_path: Path, sql: str, expected: str | None) -> None:
    """The checker itself, without dbt: fast, and pins down what sqlglot alone would let through."""
    path = tmp_path / "model.sql"
    path.write_text(sql)
    errors = parse_errors([path], tmp_path)
    if expected is None:
        assert errors == {}
    else:
        assert expected in errors["model.sql"]


def _timestamp_casts(sql: str) -> Iterator[exp.Cast]:
    for statement in sqlglot.parse(sql, read="athena"):
        if statement is None:
            continue
        for cast in statement.find_all(exp.Cast):
            # `timestamp '...'` literals parse as casts too; their precision is the literal's, harmless.
            if cast.to.is_type(*TIMESTAMP_TYPES) and not (isinstance(cast.this, exp.Literal) and cast.this.is_string):
                yield cast


def _precision(data_type: exp.DataType) -> str | None:
    return data_type.expressions[0].this.name if data_type.expressions else None


@needs_athena_compile
def test_feature_group_timestamps_are_microseconds(
    athena_compile: DbtResult, feature_groups: dict[str, dict[str, Any]]
) -> None:
    problems = []
    for name, node in feature_groups.items():
        path = athena_compile.compiled_path / node["package_name"] / node["original_file_path"]
        casts = list(_timestamp_casts(path.read_text()))
        if not casts:
            problems.append(f"{name}: no cast to timestamp({ICEBERG_TIMESTAMP_PRECISION})")
        problems.extend(
            f"{name}: {cast.sql(dialect='athena')} is not timestamp({ICEBERG_TIMESTAMP_PRECISION})"
            for cast in casts
            if _precision(cast.to) != ICEBERG_TIMESTAMP_PRECISION
        )
    assert not problems, "\n".join(problems)


@needs_athena_compile
def test_parse_check_reports_a_broken_athena_macro(compiles: Compiles, athena_compile: DbtResult) -> None:
    """The harness can fail: a typo in an Athena-only macro branch compiles fine in dbt (it does not
    check SQL) and is caught by the parse check, in exactly the files that use the macro."""
    sabotaged = compiles.sabotaged
    assert sabotaged.ok, f"the sabotaged project should still compile:\n{sabotaged.describe()}"
    sabotaged_root = _project_compiled_root(sabotaged)
    errors = parse_errors(sabotaged_root.rglob("*.sql"), sabotaged_root)

    good_root = _project_compiled_root(athena_compile)
    # `try_cast` comes from raw_timestamp() (staging), not from the sabotaged cast_timestamp().
    uses_macro = {
        path.relative_to(good_root).as_posix()
        for path in good_root.rglob("*.sql")
        if any(not isinstance(cast, exp.TryCast) for cast in _timestamp_casts(path.read_text()))
    }
    assert uses_macro, "no compiled file casts to a timestamp: pick another macro to sabotage"
    assert set(errors) == uses_macro, (
        f"the typo in {compiles.sabotaged_macro} should break exactly the files casting to timestamps;\n"
        f"reported: {sorted(errors)}\nexpected: {sorted(uses_macro)}"
    )
    assert "models/feature_groups/user_engagement.sql" in errors
