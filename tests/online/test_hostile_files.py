"""Files the feature store creates are private (issue 14, item 7): the sqlite online store and its WAL and
shared-memory files are readable by their owner only, also when an older store was created world-readable."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

from support.online_support import make_group, values_for

from featurestore.core.keys import encode_key
from featurestore.online.base import GroupCodec
from featurestore.online.sqlite import SqliteOnlineStore

T0 = dt.datetime(2026, 10, 5, 12, 0)


def _modes(folder: Path) -> dict[str, int]:
    return {path.name: stat.S_IMODE(path.stat().st_mode) for path in folder.iterdir()}


def _write_one(path: Path) -> SqliteOnlineStore:
    group = make_group()
    store = SqliteOnlineStore(path)
    store.write(group, [GroupCodec(group).record(encode_key([1]), T0, values_for(1))])
    return store


def test_a_new_sqlite_store_and_its_wal_files_are_0600(tmp_path: Path) -> None:
    previous = os.umask(0o022)  # the usual umask, under which sqlite's default would be 0644
    try:
        store = _write_one(tmp_path / "online.sqlite")
    finally:
        os.umask(previous)
    try:
        modes = _modes(tmp_path)
        assert {"online.sqlite", "online.sqlite-wal", "online.sqlite-shm"} <= set(modes)
        assert modes == dict.fromkeys(modes, 0o600)
    finally:
        store.close()


def test_an_existing_world_readable_store_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "online.sqlite"
    _write_one(path).close()
    for file in tmp_path.iterdir():
        file.chmod(0o644)
    store = SqliteOnlineStore(path)
    try:
        modes = _modes(tmp_path)
        assert modes == dict.fromkeys(modes, 0o600)
    finally:
        store.close()
