"""One writer at a time per incremental model: a micro-batch, a backfill chunk or `featurestore maintain`.

Two writers of one Iceberg table at once fail on Athena: dbt-athena's temporary table `<model>__dbt_tmp`
is shared (one run drops the other's mid-MERGE, dbt-labs/dbt-athena#688; the models now set
`unique_tmp_table_suffix`, which removes that clash), and concurrent commits to one table end in
ICEBERG_COMMIT_ERROR. Every writer started through `featurestore` (`run`, `backfill`, `maintain`) holds the
model's writer lease while it writes; a second one waits for it.

Where the lease lives follows the offline store (docs/athena.md, "One writer per table"):
- locally (DuckDB): an exclusive `flock` on `target/locks/<model>.lock`, released by the OS when the
  process dies;
- on Athena: an item `writer#<model>` in the online store's DynamoDB markers table, taken and fenced like
  the sync's lease (aws/dynamodb_lease.py) and renewed in the background while the writer runs.

The lease also says since when a writer has been at work (`in_flight_since`): every row it writes has a
`computed_at` (its dbt invocation's start) after that time, so the online sync keeps its marker below it
and reads those rows once they are committed, however long the writer takes (online/sync.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, ParamSpec, TypeVar

from featurestore.aws.dynamodb_lease import GroupLease
from featurestore.core.errors import WriterBusyError
from featurestore.core.settings import Settings
from featurestore.core.timestamps import utc_now
from featurestore.offline.base import WriterLeases

DEFAULT_WAIT_SECONDS = 3600.0  # a micro-batch may wait for a backfill chunk (at most Athena's 30-minute DML)
WRITER_KEY_PREFIX = "writer#"
# Athena's default DML timeout (30 minutes): how long a dead writer's last statement may still commit.
ORPHANED_STATEMENT_MS = 30 * 60 * 1000


P = ParamSpec("P")
T = TypeVar("T")


class FileWriterLeases:
    """Writer leases as `flock`s on files under `folder` (one host: the local DuckDB offline store)."""

    def __init__(self, folder: Path, wait_seconds: float = DEFAULT_WAIT_SECONDS, poll_seconds: float = 0.2) -> None:
        self.folder = folder
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds

    def _path(self, model: str) -> Path:
        return self.folder / f"{model}.lock"

    @contextlib.contextmanager
    def hold(self, models: Sequence[str], what: str) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.wait_seconds
        held: list[IO[str]] = []
        try:
            # Always in the same order, so two writers of overlapping selections cannot deadlock.
            for model in sorted(set(models)):
                held.append(self._take(model, what, deadline))
            yield
        finally:
            for handle in reversed(held):
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()

    def _take(self, model: str, what: str, deadline: float) -> IO[str]:
        handle = self._path(model).open("a+", encoding="utf-8")
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    holder = self._holder_text(handle)
                    handle.close()
                    raise WriterBusyError(
                        f"'{model}' is being written by {holder} (lock {self._path(model)}); waited "
                        f"{self.wait_seconds:.0f} s; rerun when it is done"
                    ) from None
                time.sleep(self.poll_seconds)
        handle.seek(0)
        handle.truncate()
        record = {"what": what, "host": socket.gethostname(), "pid": os.getpid(), "since": utc_now().isoformat()}
        handle.write(json.dumps(record))
        handle.flush()
        return handle

    @staticmethod
    def _holder_text(handle: IO[str]) -> str:
        handle.seek(0)
        try:
            record = json.loads(handle.read())
            return f"{record['what']} (pid {record['pid']} on {record['host']}, since {record['since']} UTC)"
        except (ValueError, KeyError):
            return "another writer"

    def in_flight_since(self, model: str) -> datetime | None:
        path = self._path(model)
        if not path.is_file():
            return None
        with path.open("r", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                try:
                    return datetime.fromisoformat(json.loads(handle.read())["since"])
                except (ValueError, KeyError):
                    # Taken a moment ago and not yet described: the writer's rows are newer than now.
                    return utc_now()
            fcntl.flock(handle, fcntl.LOCK_UN)
            return None


class DynamoDBWriterLeases:
    """Writer leases as DynamoDB items `writer#<model>` in `table` (the online store's markers table)."""

    def __init__(
        self, client: Any, table: str, lease_seconds: float = 60.0, wait_seconds: float = DEFAULT_WAIT_SECONDS
    ) -> None:
        self.client = client
        self.table = table
        self.lease_seconds = lease_seconds
        self.wait_seconds = wait_seconds

    @contextlib.contextmanager
    def hold(self, models: Sequence[str], what: str) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for model in sorted(set(models)):
                lease = GroupLease(
                    self.client,
                    self.table,
                    model,
                    self.lease_seconds,
                    wait_seconds=self.wait_seconds,
                    key_prefix=WRITER_KEY_PREFIX,
                    holder_kind=what,
                )
                stack.enter_context(lease)
            yield

    def in_flight_since(self, model: str) -> datetime | None:
        item = self.client.get_item(
            TableName=self.table, Key={"group_name": {"S": f"{WRITER_KEY_PREFIX}{model}"}}, ConsistentRead=True
        ).get("Item")
        # A lease left behind expired (its writer died, not released) still counts for a while: the writer's
        # last Athena statement runs on without it and may commit for up to Athena's DML timeout.
        if not item or int(item["expires_ms"]["N"]) < int(time.time() * 1000) - ORPHANED_STATEMENT_MS:
            return None
        return datetime(1970, 1, 1) + timedelta(milliseconds=int(item["since_ms"]["N"]))


def open_writer_leases(settings: Settings, wait_seconds: float = DEFAULT_WAIT_SECONDS) -> WriterLeases:
    """The writer leases of the settings' offline store: DynamoDB items on Athena, file locks locally."""
    if settings.target == "athena":
        from featurestore.online import dynamodb_lease_table

        client, table = dynamodb_lease_table(settings.online)
        return DynamoDBWriterLeases(client, table, wait_seconds=wait_seconds)
    return FileWriterLeases(settings.project_dir / "target" / "locks", wait_seconds)


def under_leases(run: Callable[P, T], leases: WriterLeases, models: Sequence[str], what: str) -> Callable[P, T]:
    """`run`, each call holding the writer leases of `models` (e.g. each chunk of a backfill, so that
    micro-batches run between chunks and never during one)."""

    def leased(*args: P.args, **kwargs: P.kwargs) -> T:
        with leases.hold(models, what):
            return run(*args, **kwargs)

    return leased
