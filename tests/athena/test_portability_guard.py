"""Portability guard: SQL whose meaning differs between Trino (Athena) and DuckDB is banned or covered by parity.

The athena SQL is only ever executed here after sqlglot transpiles it to DuckDB (`tests/athena/test_athena_parity.py`).
For most constructs that proves the Trino meaning; for the ones below sqlglot keeps the text and DuckDB gives
it another meaning, so the parity test would pass while Athena returns something else. Each one is either
banned in models, macros and dbt tests by this check (it runs in `make test`, no dbt or AWS needed), or
executed with Trino's semantics by the parity harness, where a difference fails the parity test.

Banned (this check fails on them):

- `date_diff(unit, a, b)`, `datediff(...)`, `dbt.datediff(...)`: Trino counts whole units elapsed (23:00 to
  01:00 the next day is 0 days), DuckDB counts unit boundaries crossed (1 day); sqlglot keeps the call.
- `format(fmt, ...)`: Trino takes Java placeholders (`%s`, `%d`), DuckDB fmt ones (`{}`): `%s` comes out as is.
- `try(expr)`: Trino gives NULL where `expr` fails (`try(1 / 0)`); DuckDB's `1 / 0` does not fail (inf).
- `<integer literal> / <integer literal>` (`5 / 2`): a constant Trino truncates to 2; write the intended value.
- `try_cast(x as bigint|integer|...)` written directly: both engines give NULL where a cast fails (Trino:
  https://trino.io/docs/current/functions/conversion.html#try_cast), but DuckDB casts the strings '1.5' and
  '1e3' to 2 and 1000 where Trino fails. Integer casts of raw values go through `try_cast_integer()`, which
  lets only sign-and-digits text reach the cast.

Blessed: `try_cast` to double, boolean, varchar and timestamp (the base models' casts of raw columns). Both
engines return NULL for text that is not a value of the type and agree on values of the type; they may differ
on lenient spellings of text ('  1 ', 'yes' as boolean), which only a raw column changed to text can hold,
and such a file fails the read on both engines (docs/athena.md, "Bad raw data").

Covered by parity (the harness runs them with Trino's meaning, so a difference fails the parity test):

- `a / b` on integers: Trino truncates toward zero (`5 / 2` = 2), DuckDB gives 2.5. On exact decimals
  (`count(*) / 3600.0`): Trino rounds half up to the larger scale (`1 / 3.0` = 0.3), DuckDB gives 0.333...
  An integer or decimal zero divisor fails the query in Trino. The harness runs every `/` through
  `athena_parity.TRINO_DIVISION`, which applies these rules by the operands' types.
- `last_value(x) ignore nulls over (...)`: sqlglot moves IGNORE NULLS inside the call, as DuckDB needs.
- `timestamp '... hh:mm:ss'` literals become `CAST(... AS TIMESTAMP(0))`, DuckDB's second-precision
  TIMESTAMP_S: exact for the whole-second literals `timestamp_literal()` writes.
- `to_unixtime(ts)`, `date_add('second', n, ts)`, `from_unixtime(x)` become `epoch(ts)`,
  `ts + INTERVAL (n) SECOND`, `to_timestamp(x)`: the same meaning.

Banned constructs are searched for after Jinja comments, SQL comments and string literals are blanked;
function names are also found inside Jinja expressions (`{{ dbt.datediff(...) }}` renders a `date_diff`), but
not as Python methods (`"...".format(x)` in Jinja is not SQL). The integer-literal division is searched for
in the SQL text only: Jinja's own arithmetic (`{% set width = seconds // grain_seconds %}`) is not SQL.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
SCANNED = ("models/**/*.sql", "macros/**/*.sql", "tests/dbt/**/*.sql")
PARITY_TESTS = Path(__file__).with_name("test_athena_parity.py")

JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
# Strings first: a `--` or `/*` inside a string literal starts no comment.
SQL_STRINGS_AND_COMMENTS = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.DOTALL)
JINJA_STATEMENT = re.compile(r"\{%.*?%\}", re.DOTALL)
JINJA_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.DOTALL)


@dataclasses.dataclass(frozen=True)
class Ban:
    name: str
    pattern: re.Pattern[str]
    why: str
    # Searched in the SQL only (Jinja tags blanked) rather than in SQL plus Jinja expressions.
    sql_only: bool = False


BANS = (
    Ban(
        "date_diff",
        re.compile(r"\b(?:date_diff|datediff)\s*\(", re.IGNORECASE),
        "Trino counts whole units elapsed, DuckDB unit boundaries crossed; compare timestamps or epoch seconds",
    ),
    Ban(
        "format",
        re.compile(r"(?<![\w.])format\s*\(", re.IGNORECASE),
        "Trino's format() takes Java %-placeholders, DuckDB's {}-placeholders; concatenate with || instead",
    ),
    Ban(
        "try",
        re.compile(r"(?<![\w.])try\s*\(", re.IGNORECASE),
        "DuckDB does not fail where Trino does (1 / 0 is inf), so try() hides differences; guard with case",
    ),
    Ban(
        "try_cast to an integer type",
        re.compile(
            r"(?<![\w.])try_cast\s*\((?:[^()]|\([^()]*\))*?\bas\s+(?:bigint|integer|int|smallint|tinyint)\b",
            re.IGNORECASE,
        ),
        "DuckDB casts '1.5' to 2 where Trino fails; use featurestore.try_cast_integer()",
    ),
    Ban(
        "integer literal division",
        re.compile(r"(?<![\w.])\d+\s*/\s*\d+(?![\w.])"),
        "Trino divides integers truncating (5 / 2 = 2), DuckDB does not; write the intended literal",
        sql_only=True,
    ),
)
# What `covered by parity` above relies on: these tests must exist in the parity suite.
PARITY_COVERAGE = ("test_division_keeps_trino_semantics", "test_every_model_gives_the_local_rows")


def _blank(replacement: str) -> Callable[[re.Match[str]], str]:
    # Keeps the newlines of what it blanks, so reported line numbers stay those of the source.
    return lambda match: replacement + "\n" * match.group().count("\n")


def _code(sql: str) -> str:
    return SQL_STRINGS_AND_COMMENTS.sub(_blank("''"), JINJA_COMMENT.sub(_blank(" "), sql))


def violations(sql: str) -> list[str]:
    """`<ban>: line <n>: <line>` for every banned construct in a Jinja-SQL source."""
    code = _code(sql)
    sql_only = JINJA_EXPRESSION.sub(_blank("__jinja__"), JINJA_STATEMENT.sub(_blank(" "), code))
    found = []
    for ban in BANS:
        text = sql_only if ban.sql_only else code
        for match in ban.pattern.finditer(text):
            line_number = text.count("\n", 0, match.start()) + 1
            line = text.splitlines()[line_number - 1].strip()
            found.append(f"{ban.name}: line {line_number}: {line} ({ban.why})")
    return found


def _scanned_sources() -> list[str]:
    return sorted(
        {path.relative_to(PROJECT_DIR).as_posix() for pattern in SCANNED for path in PROJECT_DIR.glob(pattern)}
    )


SOURCES = _scanned_sources()


def test_the_guard_scans_models_macros_and_dbt_tests() -> None:
    for folder in ("models/", "macros/", "tests/dbt/"):
        assert any(source.startswith(folder) for source in SOURCES), f"nothing scanned under {folder}"


@pytest.mark.parametrize("source", SOURCES)
def test_no_construct_that_transpiles_to_another_meaning(source: str) -> None:
    found = violations((PROJECT_DIR / source).read_text())
    assert not found, f"{source} uses SQL that means something else on DuckDB than on Athena:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("sql", "ban"),
    [
        ("select date_diff('day', a, b) from t", "date_diff"),
        ("select DATEDIFF('day', a, b) from t", "date_diff"),
        ("select {{ dbt.datediff('a', 'b', 'day') }} from t", "date_diff"),
        ("select format('%s-%d', a, b) from t", "format"),
        ("select try(a / b) from t", "try"),
        ("select TRY (cast(a as bigint)) from t", "try"),
        ("select 5/2 from t", "integer literal division"),
        ("select x * (86400 / 3600) from t", "integer literal division"),
        ("select try_cast(user_id as bigint) from t", "try_cast to an integer type"),
        ("select TRY_CAST(cast(p as varchar) AS integer) from t", "try_cast to an integer type"),
    ],
)
def test_the_guard_flags_each_banned_construct(sql: str, ban: str) -> None:
    assert [found.split(":")[0] for found in violations(sql)] == [ban]


@pytest.mark.parametrize(
    "sql",
    [
        # Names in strings and comments, lookalike functions, Jinja's own code: none of it is SQL using them.
        "select 'date_diff(' as a, 'try(1/0)' as b from t -- format(x)\n",
        "select a /* 5/2 */ from t {# try(x) and format(y) #}",
        "select try_cast(a as double), format_datetime(b, 'yyyy'), date_trunc('day', c) from t",
        "select try_cast(a as timestamp(6)), try_cast({{ expr }} as {{ type }}) from t",
        "{% set width = seconds // 300 %}{% set label = '{}'.format(width) %}select {{ width }} from t",
        "select {{ seconds // grain_seconds }} as w, {{ 5 / 2 }} as j from t",
        "select cast(a as double) / 1000 / b, max(d) / 3600.0, a / 2.5, cast(c as decimal(10, 2)) from t",
    ],
)
def test_the_guard_allows_lookalikes(sql: str) -> None:
    assert violations(sql) == []


def test_constructs_not_banned_are_covered_by_parity_tests() -> None:
    parity_tests = PARITY_TESTS.read_text()
    missing = [name for name in PARITY_COVERAGE if f"def {name}(" not in parity_tests]
    assert not missing, f"the portability list relies on parity tests that no longer exist: {missing}"
