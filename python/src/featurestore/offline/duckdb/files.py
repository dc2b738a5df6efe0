"""Opening the local offline store (a DuckDB file) under the catalog name that relation names use.

dbt-duckdb names the catalog after the file's stem when it parses (`target/featurestore.duckdb` gives
"featurestore"."main_features"."user_engagement"), so a copy of the file for an experiment, or a renamed one,
would not resolve those names if opened directly. Attaching the configured file under the name the relations
use resolves them against that file, whatever it is called, without re-parsing the project.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from featurestore.core.errors import OfflineStoreError


def database_of(relation_name: str, path: Path) -> str:
    """The database (catalog) part of a rendered relation name such as "featurestore"."main_features"."x"; for
    a name without one, the name DuckDB gives the file at `path` (its stem)."""
    parts = relation_name.split(".")
    return parts[0].strip('"') if len(parts) == 3 else path.stem


def check_built(path: Path) -> None:
    """OfflineStoreError unless dbt has built the DuckDB file at `path`."""
    if not path.is_file():
        raise OfflineStoreError(
            f"no DuckDB offline store at {path}; run `dbt build --target local` (or `make demo`) first"
        )


def attach_offline_store(connection: duckdb.DuckDBPyConnection, path: Path, database: str) -> None:
    """Attach the DuckDB file at `path` read-only to `connection` as `database`, and make it the default (so
    that `schema.table` resolves as in the dbt project)."""
    check_built(path)
    literal = str(path).replace("'", "''")
    try:
        connection.execute(f"attach '{literal}' as \"{database}\" (read_only)")
    except duckdb.IOException as error:
        raise OfflineStoreError(
            f"cannot open the DuckDB offline store at {path} ({error}); if dbt is running on it, wait for it to finish"
        ) from error
    connection.execute(f'use "{database}"')


def open_offline_store(path: Path, database: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the offline store at `path` attached read-only as `database`."""
    connection = duckdb.connect()
    try:
        attach_offline_store(connection, path, database)
    except BaseException:
        connection.close()
        raise
    return connection
