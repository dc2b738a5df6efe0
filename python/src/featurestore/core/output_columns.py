"""The columns a model's compiled SQL returns, read from the SQL itself (sqlglot), without running it.

Used by the contract checks (core/validation.py) to find declared columns a hand-written group's SQL does
not produce, before any SQL runs. A name is only taken when the SQL states it: a column, or an alias;
a `*` is followed into the CTEs and subqueries it selects from. Anything else (a `*` over a table, an
unaliased expression whose name each engine makes up, `* exclude (...)`) gives None: unknown, and the
caller falls back to a zero-row query on the local engine or says the columns were not checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError


def output_columns(sql: str, dialect: str = "duckdb") -> list[str] | None:
    """The lower-cased names of the columns `sql` returns, in order; None when they cannot be told
    from the SQL alone."""
    try:
        statements = [statement for statement in sqlglot.parse(sql, read=dialect) if statement is not None]
    except SqlglotError:
        return None
    if len(statements) != 1:
        return None
    return _columns(statements[0], {})


def _columns(query: Any, ctes: Mapping[str, Any]) -> list[str] | None:
    if isinstance(query, exp.Subquery):
        return _columns(query.this, ctes)
    scope = dict(ctes)
    with_ = query.args.get("with_") or query.args.get("with")
    if with_ is not None:
        for cte in with_.expressions:
            scope[cte.alias_or_name.lower()] = cte.this
    if isinstance(query, exp.SetOperation):
        # A union's columns are named by its first branch.
        return _columns(query.left, scope)
    if not isinstance(query, exp.Select):
        return None
    names: list[str] = []
    for projection in query.expressions:
        star_of = _star(projection)
        if star_of is None:
            named = isinstance(projection, exp.Alias) or (
                isinstance(projection, exp.Column) and not isinstance(projection.this, exp.Star)
            )
            if named and projection.alias_or_name:
                names.append(projection.alias_or_name.lower())
                continue
            return None
        resolved = _star_columns(query, star_of, scope)
        if resolved is None:
            return None
        names.extend(resolved)
    return names


# Star modifiers (`* exclude (x)`, `* replace (...)`): the columns are no longer the source's.
_STAR_MODIFIERS = ("except", "except_", "replace", "rename", "ilike")


def _star(projection: exp.Expression) -> str | None:
    """'' for a plain `*`, the table for `t.*`, None for anything else."""
    star = projection.this if isinstance(projection, exp.Column) else projection
    if not isinstance(star, exp.Star) or any(star.args.get(key) for key in _STAR_MODIFIERS):
        return None
    return projection.table.lower() if isinstance(projection, exp.Column) else ""


def _star_columns(query: exp.Select, table: str, scope: Mapping[str, Any]) -> list[str] | None:
    from_ = query.args.get("from") or query.args.get("from_")
    sources = [from_.this] if from_ is not None else []
    sources += [join.this for join in query.args.get("joins") or []]
    names: list[str] = []
    for source in sources:
        alias = source.alias_or_name.lower()
        if table and alias != table:
            continue
        if isinstance(source, exp.Subquery):
            columns = _columns(source.this, scope)
        elif isinstance(source, exp.Table) and not source.args.get("db") and source.name.lower() in scope:
            columns = _columns(scope[source.name.lower()], scope)
        else:
            return None  # a table or function: its columns are not in the SQL
        if columns is None:
            return None
        names.extend(columns)
    return names or None
