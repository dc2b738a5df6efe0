"""Writes of the DynamoDB online store, newest-wins (online.base.is_newer): conditional PutItems, or reads of
the stored versions then BatchWriteItems under the group's lease (aws/dynamodb_lease.py); chunks of records are written
from a pool of threads. Throttling, HTTP 5xx and unprocessed items are retried with bounded backoff (core/retry.py); the
write units of refused conditional writes are counted as DynamoDB bills them (capacity.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from featurestore.aws.dynamodb_lease import GroupLease
from featurestore.core.contract import FeatureGroup
from featurestore.core.errors import OnlineStoreError, SyncGaveUpError
from featurestore.core.retry import call_with_retries, describe_error, is_retryable
from featurestore.online.base import OnlineRecord, ProgressCallback, StoredVersion, WriteStats, is_newer
from featurestore.online.dynamodb.capacity import refused_write_units
from featurestore.online.dynamodb.codec import (
    COMPUTED_AT,
    DIGEST,
    EVENT_TIME,
    KEY,
    STATE,
    VERSION_NAMES,
    item_of,
    version_of,
)
from featurestore.online.dynamodb.reads import DynamoDBReads
from featurestore.online.dynamodb.tables import error_code

# online.base.is_newer; an item of another group state (or none: written before states) is replaced.
NEWEST_WINS = (
    "attribute_not_exists(#k) OR attribute_not_exists(#s) OR #s <> :s OR #t < :t OR (#t = :t AND #c < :c AND #d <> :d)"
)
BATCH_WRITE_LIMIT = 25
TASK_SIZE = 50  # records per task of the thread pool


def chunks(records: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


class DynamoDBWrites(DynamoDBReads):
    write_concurrency: int

    def item(self, group: FeatureGroup, record: OnlineRecord) -> dict[str, Any]:
        return item_of(self._codec(group).types, record)

    def _write_concurrently(
        self,
        records: Sequence[Any],
        chunk_size: int,
        write_chunk: Callable[[Sequence[Any], WriteStats], None],
        progress: ProgressCallback | None,
    ) -> WriteStats:
        total = WriteStats()
        stop = threading.Event()

        def run(chunk: Sequence[Any]) -> WriteStats:
            stats = WriteStats()
            if not stop.is_set():
                write_chunk(chunk, stats)
            return stats

        executor = ThreadPoolExecutor(self.write_concurrency, thread_name_prefix="online-write")
        try:
            futures = {executor.submit(run, chunk) for chunk in chunks(records, chunk_size)}
            while futures:
                done, futures = wait(futures, return_when=FIRST_EXCEPTION)
                for future in done:
                    if future.exception() is not None:
                        stop.set()
                        for pending in futures:
                            pending.cancel()
                        raise future.exception()  # type: ignore[misc]
                    stats = future.result()
                    total.add(stats)
                    if progress:
                        progress(stats.written + stats.stale)
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
        return total

    def _put_newest(self, group: FeatureGroup, table: str, record: OnlineRecord, stats: WriteStats) -> None:
        item = self.item(group, record)
        applied = self._conditional_request(
            group.name,
            record.key,
            "PutItem",
            lambda: self.client.put_item(
                TableName=table,
                Item=item,
                ConditionExpression=NEWEST_WINS,
                ExpressionAttributeNames=VERSION_NAMES,
                ExpressionAttributeValues={
                    ":t": item[EVENT_TIME],
                    ":c": item[COMPUTED_AT],
                    ":d": item[DIGEST],
                    ":s": item[STATE],
                },
                ReturnConsumedCapacity="TOTAL",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            ),
            stats,
            sent_item=item,
        )
        if applied:
            stats.written += 1
        else:
            stats.stale += 1

    def _conditional_request(
        self,
        group: str,
        key: str,
        operation: str,
        send: Callable[[], dict[str, Any]],
        stats: WriteStats,
        sent_item: dict[str, Any] | None = None,
    ) -> bool:
        """Send one conditional write of entity `key` (asking for the existing item on failure), retrying
        throttling; False when its condition failed (not retried: the stored item is newer), whose write
        units DynamoDB bills all the same (capacity.py): counted from the existing item, else from
        `sent_item`, which has the same attributes."""
        try:
            response = call_with_retries(
                send, self.backoff, group, f"{operation} of entity {key}", on_retry=stats.count_retry
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                # botocore's error response is untyped: the ALL_OLD item, in the wire format, when there is one.
                existing: dict[str, Any] | None = error.response.get("Item")  # type: ignore[assignment]
                stats.write_units += refused_write_units(existing or sent_item)
                return False
            raise OnlineStoreError(
                f"feature group '{group}': DynamoDB rejected the {operation} of entity {key}: {error}"
            ) from error
        stats.write_units += float(response.get("ConsumedCapacity", {}).get("CapacityUnits", 0.0))
        return True

    def _write_batched(
        self,
        group: FeatureGroup,
        table: str,
        chunk: Sequence[OnlineRecord],
        lease: GroupLease,
        stats: WriteStats,
        versions: dict[str, StoredVersion] | None = None,
    ) -> None:
        """BatchWriteItem the records newer than their stored versions: `versions` when a full load scanned
        them (the records are already filtered), else read here, strongly consistent, for this chunk."""
        newer: Sequence[OnlineRecord] = chunk
        if versions is None:
            request = {
                table: {
                    "Keys": [{KEY: {"S": record.key}} for record in chunk],
                    "ProjectionExpression": ", ".join(VERSION_NAMES),
                    "ExpressionAttributeNames": VERSION_NAMES,
                    "ConsistentRead": True,
                }
            }
            stored = {item[KEY]["S"]: version_of(item) for item in self._batch_get(group.name, request, stats)}
            newer = [record for record in chunk if is_newer(record, stored.get(record.key))]
            stats.stale += len(chunk) - len(newer)
        for start in range(0, len(newer), BATCH_WRITE_LIMIT):
            requests = [
                {"PutRequest": {"Item": self.item(group, record)}}
                for record in newer[start : start + BATCH_WRITE_LIMIT]
            ]
            stats.written += self._batch_write(group.name, table, requests, lease, stats)

    def _batch_write(
        self, group: str, table: str, requests: list[dict[str, Any]], lease: GroupLease, stats: WriteStats
    ) -> int:
        """Send Put/DeleteRequests (at most 25) until all are processed; returns how many were sent."""
        pending = requests
        for attempt in range(self.backoff.max_attempts):
            lease.check()
            try:
                response = self.client.batch_write_item(RequestItems={table: pending}, ReturnConsumedCapacity="TOTAL")
            except ClientError as error:
                if not is_retryable(error):
                    raise OnlineStoreError(f"feature group '{group}': BatchWriteItem failed: {error}") from error
                last = f"{describe_error(error)} on BatchWriteItem"
            except BotoCoreError as error:
                last = f"{type(error).__name__}: {error}"
            else:
                for consumed in response.get("ConsumedCapacity", []):
                    stats.write_units += float(consumed.get("CapacityUnits", 0.0))
                pending = (response.get("UnprocessedItems") or {}).get(table, [])
                if not pending:
                    return len(requests)
                last = f"{len(pending)} UnprocessedItems"
            stats.retries += 1
            if attempt + 1 < self.backoff.max_attempts:
                self.backoff.wait(attempt)
        raise SyncGaveUpError(group, f"{last}, {self.backoff.max_attempts} attempts")
