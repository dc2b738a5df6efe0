"""SQL identifiers: the names the Python side writes into SQL, checked where they come in and quoted where used.

Names declared in a contract (feature group, entity, event time and feature columns) must be plain
identifiers: lowercase letters, digits and underscores, not starting with a digit, and no reserved word
of DuckDB or Trino (Athena). Athena stores table and column names in lowercase, and the dbt macros put
these names into SQL unquoted, so any other name would break a model or a training set later, far from
its cause. On top of that, the Python side double-quotes every identifier it writes into SQL (the SQL
standard's quoting, the same on DuckDB, Trino and sqlite), so that no name can change a query's meaning.
"""

from __future__ import annotations

import re

# Athena: "use only lowercase letters, numbers, and the underscore character" in table and column names.
CONTRACT_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
# Names a caller gives (spine tables and columns): any case; DuckDB and Trino match them case-insensitively.
PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Glue's limit on table and column names.
MAX_LENGTH = 255
# Reserved in Trino (trino.io/docs/current/language/reserved.html) or in DuckDB
# (`select keyword_name from duckdb_keywords() where keyword_category = 'reserved'`): unquoted, they do not
# parse as column names.
_RESERVED_TEXT = """
    all alter analyse analyze and any array as asc asymmetric between both by case cast check collate column
    constraint create cross cube current_catalog current_date current_path current_role current_schema
    current_time current_timestamp current_user deallocate default deferrable delete desc describe distinct do
    drop else end escape except execute exists extract false fetch for foreign from full group grouping having
    in initially inner insert intersect into is join json_array json_exists json_object json_query json_table
    json_value lambda lateral leading left like limit listagg localtime localtimestamp natural normalize not
    null offset on only or order outer pivot pivot_longer pivot_wider placing prepare primary qualify
    recursive references returning right rollup select show skip some summarize symmetric table then to
    trailing trim true uescape union unique unnest unpivot using values variadic when where window with
"""
RESERVED_WORDS = frozenset(_RESERVED_TEXT.split())


def shorten(text: str, limit: int = 60) -> str:
    """`text` cut to about `limit` characters: error messages never echo a whole hostile input."""
    return text if len(text) <= limit else f"{text[: limit - 5]}...{text[-2:]}"


def excerpt(value: object, limit: int = 60) -> str:
    """`value`'s repr, shortened."""
    return shorten(repr(value), limit)


def contract_name_problem(name: object) -> str | None:
    """Why `name` cannot be a name in a feature-group contract, or None when it can."""
    if not isinstance(name, str) or not CONTRACT_NAME.match(name):
        return (
            f"{excerpt(name)} is not a plain SQL identifier; use lowercase letters, digits and underscores, "
            "not starting with a digit (e.g. clicks_7d)"
        )
    if len(name) > MAX_LENGTH:
        return f"{excerpt(name)} is longer than {MAX_LENGTH} characters"
    if name in RESERVED_WORDS:
        return f"'{name}' is a reserved word in SQL (DuckDB or Athena); choose another name"
    return None


def column_name_problem(name: object) -> str | None:
    """Why `name` cannot be a column a caller names (a spine's columns), or None when it can."""
    if not isinstance(name, str) or not PLAIN_NAME.match(name) or len(name) > MAX_LENGTH:
        return (
            f"{excerpt(name)} is not a plain SQL identifier; use letters, digits and underscores, not starting "
            "with a digit"
        )
    if name.lower() in RESERVED_WORDS:
        return f"'{name}' is a reserved word in SQL (DuckDB or Athena); rename the column"
    return None


def quote_identifier(name: str) -> str:
    """`name` as a double-quoted SQL identifier (an embedded double quote doubled)."""
    if not name or "\x00" in name:
        raise ValueError(f"{excerpt(name)} cannot be an SQL identifier")
    return '"' + name.replace('"', '""') + '"'


def quote_relation(*parts: str) -> str:
    """A dotted relation name, each part quoted: quote_relation("main", "x") == '"main"."x"'."""
    return ".".join(quote_identifier(part) for part in parts)


_RELATION_PART = re.compile(r'"((?:[^"]|"")*)"|([^."]+)')


def relation_parts(relation_name: str) -> tuple[str, ...]:
    """The parts of a rendered relation name such as `"featurestore"."main_features"."x"` or `main.x`."""
    parts: list[str] = []
    position = 0
    while True:
        match = _RELATION_PART.match(relation_name, position)
        if match is None:
            raise ValueError(f"{excerpt(relation_name)} is not a relation name")
        quoted, bare = match.groups()
        parts.append(quoted.replace('""', '"') if quoted is not None else bare.strip())
        position = match.end()
        if position == len(relation_name):
            return tuple(parts)
        if relation_name[position] != ".":
            raise ValueError(f"{excerpt(relation_name)} is not a relation name")
        position += 1


def table_name_problem(text: str) -> str | None:
    """Why `text` is not a table name a caller may give (`table` or `schema.table`, each part a plain
    identifier, optionally double-quoted), or None when it is."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 2:
        return f"{excerpt(text)} is not a table name: write table or schema.table"
    for part in parts:
        bare = part[1:-1] if len(part) > 2 and part.startswith('"') and part.endswith('"') else part
        if not PLAIN_NAME.match(bare) or len(bare) > MAX_LENGTH:
            return (
                f"{excerpt(text)} is not a table name: write table or schema.table, each a plain identifier "
                "(letters, digits and underscores)"
            )
    return None


def quoted_table_name(text: str) -> str:
    """A caller's table name (see table_name_problem, which must have passed) as a quoted relation."""
    return quote_relation(*(part.strip('"') for part in text.split(".")))
