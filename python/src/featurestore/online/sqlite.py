"""The embedded online store: one sqlite file, one table per feature group.

Table `fg_<group>`: key (the encoded entity key, primary key), event_time, computed_at and expires_at
(microseconds since the epoch, UTC), digest (of the values), vals (the feature values as one JSON
object). Newest-wins is one upsert whose update only happens when the new row is later, or as late but
from a later dbt run with another digest; sqlite's row count then tells written from stale. Sync markers
live in the table `_sync_markers` of the same file, and are committed in their own transaction after the
records' (WAL mode; a concurrent sync waits on the file lock): the largest computed_at read and the
sync's `now` (valid_until), in one row.
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
    ItemCount,
    OnlineRecord,
    ProgressCallback,
    StoredRow,
    StoredVersion,
    SyncMarker,
    Unbacked,
    WriteStats,
    unbacked_candidates,
)

_CHUNK = 5000


def _row(codec: GroupCodec, record: OnlineRecord) -> tuple[str, int, int, int, str, str]:
    """A record as the columns of its row: key, times in microseconds, digest, the values as JSON."""
    values = {name: to_json(record.values[name], vtype) for name, vtype in codec.types.items()}
    return (
        record.key,
        to_micros(record.event_time),
        to_micros(record.computed_at),
        to_micros(record.expires_at),
        record.digest,
        json.dumps(values, separators=(",", ":")),
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
                "valid_until text)"
            )
            self._add_valid_until_column()
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
        self._connection.execute(
            f"create table if not exists {_table(group)} (key text primary key, event_time integer not null, "
            "computed_at integer not null, expires_at integer not null, digest text not null, "
            "vals text not null) without rowid"
        )

    def write(
        self,
        group: FeatureGroup,
        records: Sequence[OnlineRecord],
        progress: ProgressCallback | None = None,
        *,
        full_load_at: datetime | None = None,
    ) -> WriteStats:
        codec = self._codec(group)
        table = _table(group.name)
        stats = WriteStats()
        upsert = (
            f"insert into {table} as stored (key, event_time, computed_at, expires_at, digest, vals) "
            "values (?, ?, ?, ?, ?, ?) "
            "on conflict (key) do update set event_time = excluded.event_time, computed_at = excluded.computed_at, "
            "expires_at = excluded.expires_at, digest = excluded.digest, vals = excluded.vals "
            "where excluded.event_time > stored.event_time "
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
                stats.unbacked = self._unbacked(group.name, records, full_load_at)
        return stats

    def _unbacked(self, group: str, records: Sequence[OnlineRecord], full_load_at: datetime) -> list[Unbacked]:
        try:
            rows = self._connection.execute(f"select key, event_time, computed_at, digest from {_table(group)}")
            versions = {key: StoredVersion(t, c, d) for key, t, c, d in rows.fetchall()}
        except sqlite3.Error as error:
            raise OnlineStoreError(f"reading feature group '{group}' from {self.path}: {error}") from error
        return unbacked_candidates(versions, records, full_load_at)

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
                            f"insert into {table} (key, event_time, computed_at, expires_at, digest, vals) "
                            "values (?, ?, ?, ?, ?, ?)",
                            _row(codec, item.record),
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
                            expires_at=from_micros(expires_at),
                            values={name: from_json(stored.get(name), codec.types[name]) for name in features},
                        )
            except sqlite3.OperationalError as error:
                if "no such table" in str(error):
                    return [None] * len(keys)
                raise OnlineStoreError(f"reading feature group '{group.name}' from {self.path}: {error}") from error
        return [found.get(key) for key in keys]

    def _add_valid_until_column(self) -> None:
        """Files written before syncs had a `now` lack the column; their markers read as valid_until None."""
        columns = {row[1] for row in self._connection.execute("pragma table_info(_sync_markers)")}
        if "valid_until" in columns:
            return
        try:
            self._connection.execute("alter table _sync_markers add column valid_until text")
        except sqlite3.OperationalError as error:
            # Another process opening the same file added it first.
            if "duplicate column" not in str(error):
                raise

    def get_marker(self, group: str) -> SyncMarker | None:
        with self._lock:
            row = self._connection.execute(
                "select marker, valid_until from _sync_markers where group_name = ?", (group,)
            ).fetchone()
        if row is None:
            return None
        return SyncMarker(
            computed_at=datetime.fromisoformat(row[0]),
            valid_until=None if row[1] is None else datetime.fromisoformat(row[1]),
        )

    def set_marker(self, group: str, marker: SyncMarker | None) -> None:
        with self._lock:
            if marker is None:
                self._connection.execute("delete from _sync_markers where group_name = ?", (group,))
            else:
                # One statement: both fields change together, or (a crash) neither does.
                self._connection.execute(
                    "insert into _sync_markers (group_name, marker, valid_until) values (?, ?, ?) "
                    "on conflict (group_name) do update set marker = excluded.marker, "
                    "valid_until = excluded.valid_until",
                    (
                        group,
                        marker.computed_at.isoformat(timespec="microseconds"),
                        None if marker.valid_until is None else marker.valid_until.isoformat(timespec="microseconds"),
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
