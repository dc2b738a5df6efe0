"""The embedded online store: one sqlite file, one table per feature group.

Table `fg_<group>`: key (the encoded entity key, primary key), event_time, computed_at and expires_at
(microseconds since the epoch, UTC; expires_at null: `ttl: none`), digest (of the values), vals (the
feature values as one JSON object), state (the tag of the group state the row was written under).
Newest-wins is one upsert whose update only happens when the new row is later, or as late but from a later
dbt run with another digest, or of another group state; sqlite's row count then tells written from stale.
Sync markers live in the table `_sync_markers` of the same file, and are committed in their own
transaction after the records' (WAL mode; a concurrent sync waits on the file lock): the largest
computed_at read, the sync's `now` (valid_until) and the group state (JSON), in one row. Tables written
before states (no `state` column, expires_at not null) are rebuilt in place on the next write.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from featurestore.core.contract import FeatureGroup
from featurestore.core.errors import OnlineStoreError
from featurestore.core.identifiers import quote_identifier
from featurestore.core.timestamps import from_micros, to_micros
from featurestore.core.value_codec import from_json, to_json
from featurestore.online.base import (
    GroupCodec,
    GroupState,
    ItemCount,
    OnlineRecord,
    ProgressCallback,
    StoredRow,
    StoredVersion,
    SyncMarker,
    Unbacked,
    WriteStats,
    obsolete_items,
    unbacked_candidates,
)

_CHUNK = 5000


_COLUMNS = "key, event_time, computed_at, expires_at, digest, vals, state"
_DEFINITION = (
    "(key text primary key, event_time integer not null, computed_at integer not null, expires_at integer, "
    "digest text not null, vals text not null, state text not null default '') without rowid"
)


def _row(codec: GroupCodec, record: OnlineRecord) -> tuple[str, int, int, int | None, str, str, str]:
    """A record as the columns of its row: key, times in microseconds, digest, the values as JSON, state."""
    values = {name: to_json(record.values[name], vtype) for name, vtype in codec.types.items()}
    return (
        record.key,
        to_micros(record.event_time),
        to_micros(record.computed_at),
        None if record.expires_at is None else to_micros(record.expires_at),
        record.digest,
        json.dumps(values, separators=(",", ":")),
        record.state,
    )


def _table(group: str) -> str:
    return quote_identifier(f"fg_{group}")


def _make_private(path: Path) -> None:
    """Create the file 0600 (owner only: feature values are user data) before sqlite opens it, and take group
    and other access off a file, -wal or -shm created before. sqlite gives the -wal and -shm files the
    permissions of the database file."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)


class SqliteOnlineStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _make_private(path)
            # One connection shared by threads (serving fetches groups concurrently), guarded by a lock.
            self._connection = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
            self._connection.execute("pragma journal_mode=wal")
            self._connection.execute("pragma synchronous=normal")
            self._connection.execute(
                "create table if not exists _sync_markers (group_name text primary key, marker text not null, "
                "valid_until text, state text)"
            )
            self._add_marker_columns()
        except (sqlite3.Error, OSError) as error:
            raise OnlineStoreError(f"cannot open the sqlite online store at {path}: {error}") from error
        self._lock = threading.Lock()
        self._codecs: dict[str, GroupCodec] = {}

    def _codec(self, group: FeatureGroup) -> GroupCodec:
        codec = self._codecs.get(group.name)
        if codec is None or codec.group != group:
            codec = self._codecs[group.name] = GroupCodec(group)
        return codec

    def _ensure_table(self, group: str) -> None:
        table = _table(group)
        self._connection.execute(f"create table if not exists {table} {_DEFINITION}")
        columns = {row[1]: row[3] for row in self._connection.execute(f"pragma table_info({table})")}
        if "state" in columns and not columns["expires_at"]:
            return
        # Written before group states: no state column, and expires_at not null. sqlite cannot drop a
        # constraint, so the table is copied into the current shape, in one transaction.
        old = _table(f"{group}__before_state")
        try:
            self._connection.execute("begin immediate")
            self._connection.execute(f"alter table {table} rename to {old}")
            self._connection.execute(f"create table {table} {_DEFINITION}")
            self._connection.execute(
                f"insert into {table} ({_COLUMNS}) select key, event_time, computed_at, expires_at, digest, vals, '' "
                f"from {old}"
            )
            self._connection.execute(f"drop table {old}")
            self._connection.execute("commit")
        except sqlite3.Error as error:
            if self._connection.in_transaction:
                self._connection.execute("rollback")
            raise OnlineStoreError(f"upgrading the table of feature group '{group}' in {self.path}: {error}") from error

    def write(
        self,
        group: FeatureGroup,
        records: Sequence[OnlineRecord],
        progress: ProgressCallback | None = None,
        *,
        full_load_at: datetime | None = None,
        state: str | None = None,
    ) -> WriteStats:
        codec = self._codec(group)
        table = _table(group.name)
        stats = WriteStats()
        upsert = (
            f"insert into {table} as stored ({_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?) "
            "on conflict (key) do update set event_time = excluded.event_time, computed_at = excluded.computed_at, "
            "expires_at = excluded.expires_at, digest = excluded.digest, vals = excluded.vals, state = excluded.state "
            "where excluded.state <> stored.state or excluded.event_time > stored.event_time "
            "or (excluded.event_time = stored.event_time and excluded.computed_at > stored.computed_at "
            "and excluded.digest <> stored.digest)"
        )
        with self._lock:
            self._ensure_table(group.name)
            for start in range(0, len(records), _CHUNK):
                chunk = records[start : start + _CHUNK]
                rows = [_row(codec, record) for record in chunk]
                try:
                    self._connection.execute("begin immediate")
                    cursor = self._connection.executemany(upsert, rows)
                    written = cursor.rowcount
                    self._connection.execute("commit")
                except sqlite3.Error as error:
                    if self._connection.in_transaction:
                        self._connection.execute("rollback")
                    raise OnlineStoreError(f"writing feature group '{group.name}' to {self.path}: {error}") from error
                stats.written += written
                stats.stale += len(chunk) - written
                if progress:
                    progress(len(chunk))
            if full_load_at is not None:
                versions = self._versions(group.name)
                stats.unbacked = unbacked_candidates(versions, records, full_load_at)
                if state is not None:
                    stats.obsolete = obsolete_items(versions, records, state)
        return stats

    def _versions(self, group: str) -> dict[str, StoredVersion]:
        try:
            rows = self._connection.execute(f"select key, event_time, computed_at, digest, state from {_table(group)}")
            return {key: StoredVersion(t, c, d, tag) for key, t, c, d, tag in rows.fetchall()}
        except sqlite3.Error as error:
            raise OnlineStoreError(f"reading feature group '{group}' from {self.path}: {error}") from error

    def replace_unchanged(self, group: FeatureGroup, items: Sequence[Unbacked]) -> WriteStats:
        codec = self._codec(group)
        table = _table(group.name)
        stats = WriteStats()
        with self._lock:
            try:
                self._connection.execute("begin immediate")
                for item in items:
                    removed = self._connection.execute(
                        f"delete from {table} where key = ? and event_time = ? and computed_at = ?",
                        (item.key, item.version.event_time, item.version.computed_at),
                    ).rowcount
                    if not removed:
                        continue  # rewritten since: a newer value, which stays
                    if item.record is None:
                        stats.deleted += 1
                    else:
                        self._connection.execute(
                            f"insert into {table} ({_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?)", _row(codec, item.record)
                        )
                        stats.written += 1
                self._connection.execute("commit")
            except sqlite3.Error as error:
                if self._connection.in_transaction:
                    self._connection.execute("rollback")
                raise OnlineStoreError(
                    f"repairing entities of feature group '{group.name}' in {self.path}: {error}"
                ) from error
        return stats

    def read(self, group: FeatureGroup, keys: Sequence[str], features: Sequence[str]) -> list[StoredRow | None]:
        codec = self._codec(group)
        found: dict[str, StoredRow] = {}
        with self._lock:
            try:
                for start in range(0, len(keys), 500):
                    chunk = keys[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    rows = self._connection.execute(
                        f"select key, event_time, expires_at, vals from {_table(group.name)} where key in ({marks})",
                        chunk,
                    ).fetchall()
                    for key, event_time, expires_at, vals in rows:
                        stored = json.loads(vals)
                        found[key] = StoredRow(
                            event_time=from_micros(event_time),
                            expires_at=None if expires_at is None else from_micros(expires_at),
                            values={name: from_json(stored.get(name), codec.types[name]) for name in features},
                        )
            except sqlite3.OperationalError as error:
                if "no such table" in str(error):
                    return [None] * len(keys)
                raise OnlineStoreError(f"reading feature group '{group.name}' from {self.path}: {error}") from error
        return [found.get(key) for key in keys]

    def _add_marker_columns(self) -> None:
        """Files written before syncs had a `now` (or a group state) lack the column; their markers read as
        valid_until (state) None."""
        columns = {row[1] for row in self._connection.execute("pragma table_info(_sync_markers)")}
        for column in ("valid_until", "state"):
            if column in columns:
                continue
            try:
                self._connection.execute(f"alter table _sync_markers add column {column} text")
            except sqlite3.OperationalError as error:
                # Another process opening the same file added it first.
                if "duplicate column" not in str(error):
                    raise

    def get_marker(self, group: str) -> SyncMarker | None:
        with self._lock:
            row = self._connection.execute(
                "select marker, valid_until, state from _sync_markers where group_name = ?", (group,)
            ).fetchone()
        if row is None:
            return None
        return SyncMarker(
            computed_at=datetime.fromisoformat(row[0]),
            valid_until=None if row[1] is None else datetime.fromisoformat(row[1]),
            state=None if row[2] is None else GroupState.from_json(row[2]),
        )

    def set_marker(self, group: str, marker: SyncMarker | None) -> None:
        with self._lock:
            if marker is None:
                self._connection.execute("delete from _sync_markers where group_name = ?", (group,))
            else:
                # One statement: the fields change together, or (a crash) none does.
                self._connection.execute(
                    "insert into _sync_markers (group_name, marker, valid_until, state) values (?, ?, ?, ?) "
                    "on conflict (group_name) do update set marker = excluded.marker, "
                    "valid_until = excluded.valid_until, state = excluded.state",
                    (
                        group,
                        marker.computed_at.isoformat(timespec="microseconds"),
                        None if marker.valid_until is None else marker.valid_until.isoformat(timespec="microseconds"),
                        None if marker.state is None else marker.state.to_json(),
                    ),
                )

    def drop(self, group: str) -> bool:
        with self._lock:
            exists = self._connection.execute(
                "select 1 from sqlite_master where type = 'table' and name = ?", ("fg_" + group,)
            ).fetchone()
            self._connection.execute(f"drop table if exists {_table(group)}")
            self._connection.execute("delete from _sync_markers where group_name = ?", (group,))
        return exists is not None

    def item_count(self, group: str, *, exact: bool = False) -> ItemCount | None:
        # Always exact: a count of the group's rows.
        with self._lock:
            exists = self._connection.execute(
                "select 1 from sqlite_master where type = 'table' and name = ?", ("fg_" + group,)
            ).fetchone()
            if exists is None:
                return None
            return ItemCount(int(self._connection.execute(f"select count(*) from {_table(group)}").fetchone()[0]), True)

    def close(self) -> None:
        self._connection.close()
