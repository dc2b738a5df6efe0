"""The local offline store's file: checked to be built, opened read-only, and attached to a training set's
in-memory DuckDB under the database name that the compiled SQL uses.

dbt-duckdb names the catalog after the file's stem when it parses (`target/featurestore.duckdb` gives
"featurestore"."main_features"."user_engagement"), and target/manifest.json keeps the name of the file of the
last dbt invocation. A copy of the file for an experiment, a renamed one, or a manifest written by a `dbt run`
against another file (FEATURESTORE_DUCKDB_PATH) would not resolve those names if the configured file were
opened as itself. The reader (reader.py) therefore reads `schema.table` of the open file; a training set, whose
SQL the macro writes with three-part names, attaches the configured file under the name that SQL uses.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from featurestore.core.errors import OfflineStoreError
from featurestore.core.identifiers import quote_identifier, relation_parts


def check_built(path: Path) -> None:
    """OfflineStoreError unless dbt has built the DuckDB file at `path`."""
    if not path.is_file():
        raise OfflineStoreError(
            f"no DuckDB offline store at {path}; run `dbt build --target local` (or `make demo`) first"
        )


def busy_error(path: Path, error: duckdb.Error) -> OfflineStoreError:
    """The error for a DuckDB file that cannot be opened (most often: dbt holds its write lock)."""
    return OfflineStoreError(
        f"cannot open the DuckDB offline store at {path} ({error}); if dbt is running on it, wait for it to finish"
    )


def database_of(relation_name: str, path: Path) -> str:
    """The database (catalog) part of a rendered relation name such as "featurestore"."main_features"."x"; for
    a name without one, the name DuckDB gives the file at `path` (its stem)."""
    parts = relation_parts(relation_name)
    return parts[0] if len(parts) == 3 else path.stem


def attach_offline_store(connection: duckdb.DuckDBPyConnection, path: Path, database: str) -> None:
    """Attach the DuckDB file at `path` read-only to `connection` as `database`, make it the default (so that
    `schema.table` resolves as in the dbt project), and switch file access off: from here on the session
    reads the attached store and registered Arrow tables only (no read_csv, no COPY ... TO, no table name
    read as a file by DuckDB's replacement scans)."""
    check_built(path)
    literal = str(path).replace("'", "''")
    try:
        connection.execute(f"attach '{literal}' as {quote_identifier(database)} (read_only)")
    except duckdb.IOException as error:
        raise busy_error(path, error) from error
    connection.execute(f"use {quote_identifier(database)}")
    connection.execute("set enable_external_access = false")
