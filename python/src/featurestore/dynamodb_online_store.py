"""The production online store: one on-demand DynamoDB table per feature group.

Table `<prefix><group>` (PAY_PER_REQUEST, created on a group's first sync, TTL enabled on `_expires_at`),
one item per entity:

    _key         S  the encoded entity key (key_encoding.py), the partition key
    _event_time  N  event time, microseconds since the epoch (UTC)
    _computed_at N  when the dbt run that wrote the row started, microseconds since the epoch
    _digest      S  a digest of the values (value_codec.digest)
    _expires_at  N  event time + the group's TTL, epoch seconds (DynamoDB's TTL attribute)
    <feature>       one attribute per feature, typed by its data_type (value_codec.to_dynamodb)

Newest-wins (the rule of online_store.py), three write modes (docs/online_store.md has their costs):

- `conditional`: every record is a conditional PutItem, sent from a pool of threads,

      attribute_not_exists(_key) OR _event_time < :t
          OR (_event_time = :t AND _computed_at < :c AND _digest <> :d)

  so DynamoDB enforces it against any writer. A failed condition is a stale record (counted, not retried).
- `batch`: BatchWriteItem takes no conditions, so the sync holds a per-group lease (dynamodb_lease.py),
  compares the records with the stored versions (key, event time, computed_at, digest) and sends the
  newer ones with BatchWriteItem, 25 per call. The versions come from a strongly consistent BatchGetItem
  per 100 records, or, in a full load, from one parallel consistent Scan of the table (billed by data
  size rather than per item).
- `auto` (the default): under the lease, full loads as in `batch` (their size is what throughput is
  about), changes as in `conditional` (no read per record, DynamoDB's own check).

A full load compares every record with the scanned versions whatever the mode, so unchanged items cost
no write, and lists the stored items it leaves in place that differ from its records; the sync re-checks
their rows offline and has those whose row is gone replaced or deleted (replace_unchanged: a PutItem or
DeleteItem conditional on the version scanned).

Throttling, unprocessed items and server errors are retried with bounded, jittered exponential backoff;
botocore's own retries are off so that the bound and the error are ours. Sync markers and leases: items
of the table `<prefix>__sync_markers` (a marker: `group_name`, `marker` = the largest computed_at read,
`valid_until` = the sync's `now`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from featurestore.contract import FeatureGroup
from featurestore.dynamodb_capacity import refused_write_units
from featurestore.dynamodb_lease import GroupLease
from featurestore.errors import OnlineStoreError, SyncGaveUpError
from featurestore.online_store import (
    GroupCodec,
    OnlineRecord,
    ProgressCallback,
    StoredRow,
    StoredVersion,
    SyncMarker,
    Unbacked,
    WriteStats,
    from_micros,
    is_newer,
    to_micros,
    unbacked_candidates,
)
from featurestore.retry import Backoff, call_with_retries, describe_error, is_retryable
from featurestore.settings import OnlineSettings
from featurestore.value_codec import from_dynamodb, to_dynamodb

log = logging.getLogger(__name__)

KEY = "_key"
EVENT_TIME = "_event_time"
COMPUTED_AT = "_computed_at"
DIGEST = "_digest"
EXPIRES_AT = "_expires_at"
MARKERS_SUFFIX = "__sync_markers"
NEWEST_WINS = "attribute_not_exists(#k) OR #t < :t OR (#t = :t AND #c < :c AND #d <> :d)"
BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
WRITE_MODES = ("auto", "conditional", "batch")
_TASK_SIZE = 50
# What endpoints without TTL (dynalite, in tests and benchmarks) answer to its requests.
NO_TTL_ERRORS = ("UnknownOperationException", "UnrecognizedClientException")


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class DynamoDBOnlineStore:
    def __init__(
        self,
        client: Any,
        table_prefix: str = "featurestore_",
        write_concurrency: int = 16,
        backoff: Backoff | None = None,
        write_mode: str = "auto",
        lease_seconds: float = 30.0,
    ) -> None:
        if write_mode not in WRITE_MODES:
            raise OnlineStoreError(f"write mode {write_mode!r} is not one of {', '.join(WRITE_MODES)}")
        self.client = client
        self.table_prefix = table_prefix
        self.write_concurrency = write_concurrency
        self.backoff = backoff or Backoff()
        self.write_mode = write_mode
        self.lease_seconds = lease_seconds
        self._codecs: dict[str, GroupCodec] = {}
        self._ready_tables: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: OnlineSettings, backoff: Backoff | None = None) -> DynamoDBOnlineStore:
        config = Config(
            # Our own bounded backoff retries (see the module docstring); botocore's would hide throttling.
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=max(10, settings.write_concurrency + 4),
        )
        client = boto3.client(
            "dynamodb",
            region_name=settings.dynamodb_region,
            endpoint_url=settings.dynamodb_endpoint_url,
            config=config,
        )
        return cls(
            client,
            settings.dynamodb_table_prefix,
            settings.write_concurrency,
            backoff,
            write_mode=settings.dynamodb_write_mode,
            lease_seconds=settings.dynamodb_lease_seconds,
        )

    def table_name(self, group: str) -> str:
        return f"{self.table_prefix}{group}"

    def _codec(self, group: FeatureGroup) -> GroupCodec:
        codec = self._codecs.get(group.name)
        if codec is None or codec.group != group:
            codec = self._codecs[group.name] = GroupCodec(group)
        return codec

    # --- tables ---

    def ensure_table(self, table: str, key: str = KEY, ttl_attribute: str | None = EXPIRES_AT) -> None:
        """Create the table if missing (on-demand), wait until it is active, and make sure TTL is on
        `ttl_attribute` (once per table and process: a table left without TTL is repaired)."""
        if table in self._ready_tables:
            return
        try:
            status = self.client.describe_table(TableName=table)["Table"]["TableStatus"]
        except ClientError as error:
            if _error_code(error) != "ResourceNotFoundException":
                raise OnlineStoreError(f"cannot describe DynamoDB table {table}: {error}") from error
            status = self._create_table(table, key)
        deadline = time.monotonic() + 300
        while status != "ACTIVE":
            if time.monotonic() > deadline:
                raise OnlineStoreError(f"DynamoDB table {table} is still {status} after 5 minutes")
            time.sleep(0.2)
            status = self.client.describe_table(TableName=table)["Table"]["TableStatus"]
        if ttl_attribute is not None:
            self._ensure_ttl(table, ttl_attribute)
        self._ready_tables.add(table)

    def _create_table(self, table: str, key: str) -> str:
        try:
            response = self.client.create_table(
                TableName=table,
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
            return str(response["TableDescription"]["TableStatus"])
        except ClientError as error:
            # Another sync created it first.
            if _error_code(error) != "ResourceInUseException":
                raise OnlineStoreError(f"cannot create DynamoDB table {table}: {error}") from error
            return "CREATING"

    def _ensure_ttl(self, table: str, attribute: str) -> None:
        """TTL on `attribute`: DescribeTimeToLive first (a table created by a crashed sync may have none),
        UpdateTimeToLive only when it is off. DynamoDB refuses a second change within the hour with a
        ValidationException: when the cause is another sync enabling it at the same time (the description
        now says ENABLING or ENABLED on `attribute`), that is success."""
        state = self._ttl_state(table)
        if state is None:
            return  # an endpoint without TTL, warned about
        status, current = state
        if status in ("ENABLED", "ENABLING") and current == attribute:
            return
        if status in ("ENABLED", "ENABLING"):
            log.warning(
                "%s: TTL is on attribute %r, not %r: expired feature values are not deleted (readers ignore "
                "them); disable it and the next sync turns it on for %r",
                table,
                current,
                attribute,
                attribute,
            )
            return
        if status == "DISABLING":
            log.warning("%s: TTL is being disabled; the next sync turns it on again", table)
            return
        try:
            self.client.update_time_to_live(
                TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
            )
        except ClientError as error:
            if _error_code(error) in NO_TTL_ERRORS:
                log.warning("%s: this DynamoDB endpoint does not support TTL; expired items are not deleted", table)
                return
            if _error_code(error) == "ValidationException":
                raced = self._ttl_state(table)
                if raced is not None and raced[0] in ("ENABLED", "ENABLING") and raced[1] == attribute:
                    return  # another sync enabled it meanwhile
            raise OnlineStoreError(f"cannot enable TTL on DynamoDB table {table}: {error}") from error
        log.info("%s: TTL enabled on %s", table, attribute)

    def _ttl_state(self, table: str) -> tuple[str, str | None] | None:
        """(TimeToLiveStatus, AttributeName) of the table, None when the endpoint has no TTL (dynalite)."""
        try:
            description = self.client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        except ClientError as error:
            # Readers treat expired items as missing regardless.
            if _error_code(error) not in NO_TTL_ERRORS:
                raise OnlineStoreError(f"cannot describe the TTL of DynamoDB table {table}: {error}") from error
            log.warning("%s: this DynamoDB endpoint does not support TTL; expired items are not deleted", table)
            return None
        return str(description.get("TimeToLiveStatus", "DISABLED")), description.get("AttributeName")

    # --- writes ---

    def item(self, group: FeatureGroup, record: OnlineRecord) -> dict[str, Any]:
        codec = self._codec(group)
        item = {name: to_dynamodb(record.values[name], vtype) for name, vtype in codec.types.items()}
        item[KEY] = {"S": record.key}
        item[EVENT_TIME] = {"N": str(to_micros(record.event_time))}
        item[COMPUTED_AT] = {"N": str(to_micros(record.computed_at))}
        item[DIGEST] = {"S": record.digest}
        item[EXPIRES_AT] = {"N": str(to_micros(record.expires_at) // 1_000_000)}
        return item

    def write(
        self,
        group: FeatureGroup,
        records: Sequence[OnlineRecord],
        progress: ProgressCallback | None = None,
        *,
        full_load_at: datetime | None = None,
    ) -> WriteStats:
        table = self.table_name(group.name)
        self.ensure_table(table)
        # Batched writes are safe only while every writer of the group holds the lease, so `auto` takes it
        # for its conditional (incremental) writes too.
        batched = self.write_mode == "batch" or (self.write_mode == "auto" and full_load_at is not None)
        lease = None
        if self.write_mode != "conditional":
            lease = GroupLease(self.client, self._markers_table(), group.name, self.lease_seconds, backoff=self.backoff)
            lease.acquire()
            # Renewed in the background while this write lives, so pauses shorter than the lease cost nothing.
            lease.start_renewing()
        try:
            total = WriteStats()
            versions: dict[str, StoredVersion] | None = None
            if full_load_at is not None:
                # One scan of every stored version instead of a read per record: a full load touches most
                # items, and a scan is billed by the data read (4 KB per unit), not per item.
                versions = self._scan_versions(group.name, table, total)
                fresh = [record for record in records if is_newer(record, versions.get(record.key))]
                total.stale += len(records) - len(fresh)
                if progress and len(fresh) < len(records):
                    progress(len(records) - len(fresh))
                total.unbacked = unbacked_candidates(versions, records, full_load_at)
                records = fresh
            if batched:
                assert lease is not None
                chunk_size = BATCH_WRITE_LIMIT if versions is not None else BATCH_GET_LIMIT
                total.add(
                    self._write_concurrently(
                        records,
                        chunk_size,
                        lambda chunk, stats: self._write_batched(group, table, chunk, lease, stats, versions),
                        progress,
                    )
                )
            else:

                def put_each(chunk: Sequence[OnlineRecord], stats: WriteStats) -> None:
                    for record in chunk:
                        self._put_newest(group, table, record, stats)

                total.add(self._write_concurrently(records, _TASK_SIZE, put_each, progress))
            return total
        finally:
            if lease is not None:
                lease.stop_renewing()
                lease.release()

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
            futures = {executor.submit(run, chunk) for chunk in _chunks(records, chunk_size)}
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
                ExpressionAttributeNames={"#k": KEY, "#t": EVENT_TIME, "#c": COMPUTED_AT, "#d": DIGEST},
                ExpressionAttributeValues={":t": item[EVENT_TIME], ":c": item[COMPUTED_AT], ":d": item[DIGEST]},
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
        units DynamoDB bills all the same (dynamodb_capacity.py): counted from the existing item, else from
        `sent_item`, which has the same attributes."""
        try:
            response = call_with_retries(
                send, self.backoff, group, f"{operation} of entity {key}", on_retry=stats.count_retry
            )
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                stats.write_units += refused_write_units(error.response.get("Item") or sent_item)
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
            names = {"#k": KEY, "#t": EVENT_TIME, "#c": COMPUTED_AT, "#d": DIGEST}
            request = {
                table: {
                    "Keys": [{KEY: {"S": record.key}} for record in chunk],
                    "ProjectionExpression": ", ".join(names),
                    "ExpressionAttributeNames": names,
                    "ConsistentRead": True,
                }
            }
            stored = {item[KEY]["S"]: _version(item) for item in self._batch_get(group.name, request, stats)}
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

    def replace_unchanged(self, group: FeatureGroup, items: Sequence[Unbacked]) -> WriteStats:
        """One PutItem (the record) or DeleteItem (no record) per item, conditional on the version the full
        load scanned, in every mode: no lease is needed, and repairs are rare."""
        table = self.table_name(group.name)

        def repair_each(chunk: Sequence[Unbacked], stats: WriteStats) -> None:
            for item in chunk:
                # A failed condition: rewritten since the scan, a newer value, which stays.
                condition = {
                    "ConditionExpression": "#t = :t AND #c = :c",
                    "ExpressionAttributeNames": {"#t": EVENT_TIME, "#c": COMPUTED_AT},
                    "ExpressionAttributeValues": {
                        ":t": {"N": str(item.version.event_time)},
                        ":c": {"N": str(item.version.computed_at)},
                    },
                    "ReturnConsumedCapacity": "TOTAL",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
                request = {"TableName": table, **condition}
                if item.record is None:
                    operation, send = "DeleteItem", self.client.delete_item
                    request["Key"] = {KEY: {"S": item.key}}
                else:
                    operation, send = "PutItem", self.client.put_item
                    request["Item"] = self.item(group, item.record)
                applied = self._conditional_request(
                    group.name,
                    item.key,
                    operation,
                    lambda send=send, request=request: send(**request),
                    stats,
                    sent_item=request.get("Item"),
                )
                if item.record is None:
                    stats.deleted += applied
                else:
                    stats.written += applied

        return self._write_concurrently(items, _TASK_SIZE, repair_each, None)

    def _scan_versions(self, group: str, table: str, stats: WriteStats) -> dict[str, StoredVersion]:
        """Every stored item's version (key, event time, computed_at, digest): a strongly consistent
        parallel Scan, one segment per writer thread."""
        names = {"#k": KEY, "#t": EVENT_TIME, "#c": COMPUTED_AT, "#d": DIGEST}
        segments = max(1, self.write_concurrency)

        def scan_segment(segment: int) -> tuple[dict[str, StoredVersion], WriteStats]:
            found: dict[str, StoredVersion] = {}
            seen = WriteStats()
            request: dict[str, Any] = {
                "TableName": table,
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
                "ConsistentRead": True,
                "Segment": segment,
                "TotalSegments": segments,
                "ReturnConsumedCapacity": "TOTAL",
            }
            while True:
                try:
                    response = call_with_retries(
                        lambda: self.client.scan(**request), self.backoff, group, "Scan", on_retry=seen.count_retry
                    )
                except ClientError as error:
                    raise OnlineStoreError(f"feature group '{group}': Scan of {table} failed: {error}") from error
                seen.read_units += float(response.get("ConsumedCapacity", {}).get("CapacityUnits", 0.0))
                for item in response.get("Items", []):
                    found[item[KEY]["S"]] = _version(item)
                if "LastEvaluatedKey" not in response:
                    return found, seen
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

        versions: dict[str, StoredVersion] = {}
        with ThreadPoolExecutor(segments, thread_name_prefix="online-scan") as executor:
            for found, seen in executor.map(scan_segment, range(segments)):
                versions.update(found)
                stats.add(seen)
        return versions

    # --- reads ---

    def read(self, group: FeatureGroup, keys: Sequence[str], features: Sequence[str]) -> list[StoredRow | None]:
        codec = self._codec(group)
        table = self.table_name(group.name)
        names = {"#k": KEY, "#t": EVENT_TIME, "#x": EXPIRES_AT}
        for index, feature in enumerate(features):
            names[f"#f{index}"] = feature
        projection = ", ".join(names)
        found: dict[str, StoredRow] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            request = {
                table: {
                    "Keys": [{KEY: {"S": key}} for key in unique[start : start + BATCH_GET_LIMIT]],
                    "ProjectionExpression": projection,
                    "ExpressionAttributeNames": names,
                }
            }
            for item in self._batch_get(group.name, request):
                found[item[KEY]["S"]] = StoredRow(
                    event_time=from_micros(int(item[EVENT_TIME]["N"])),
                    expires_at=from_micros(int(item[EXPIRES_AT]["N"]) * 1_000_000),
                    values={
                        name: from_dynamodb(item[name], codec.types[name]) if name in item else None
                        for name in features
                    },
                )
        return [found.get(key) for key in keys]

    def _batch_get(
        self, group: str, request: dict[str, Any], stats: WriteStats | None = None
    ) -> Iterator[dict[str, Any]]:
        attempt = 0
        while request:
            try:
                response = self.client.batch_get_item(
                    RequestItems=request, **({"ReturnConsumedCapacity": "TOTAL"} if stats is not None else {})
                )
            except ClientError as error:
                code = _error_code(error)
                if code == "ResourceNotFoundException":
                    return
                if not is_retryable(error):
                    raise OnlineStoreError(f"feature group '{group}': BatchGetItem failed: {error}") from error
                problem = describe_error(error)
            except BotoCoreError as error:
                problem = f"{type(error).__name__}: {error}"
            else:
                if stats is not None:
                    for consumed in response.get("ConsumedCapacity", []):
                        stats.read_units += float(consumed.get("CapacityUnits", 0.0))
                for items in response.get("Responses", {}).values():
                    yield from items
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    return
                problem = "UnprocessedKeys"
            if attempt + 1 >= self.backoff.max_attempts:
                raise OnlineStoreError(
                    f"feature group '{group}': BatchGetItem still failing after {attempt + 1} attempts "
                    f"({problem}); retry later"
                )
            self.backoff.wait(attempt)
            attempt += 1

    # --- markers ---

    def _markers_table(self) -> str:
        table = self.table_prefix + MARKERS_SUFFIX
        self.ensure_table(table, key="group_name", ttl_attribute=None)
        return table

    def get_marker(self, group: str) -> SyncMarker | None:
        table = self._markers_table()
        response = call_with_retries(
            lambda: self.client.get_item(TableName=table, Key={"group_name": {"S": group}}, ConsistentRead=True),
            self.backoff,
            group,
            "GetItem of the sync marker",
        )
        item = response.get("Item")
        if not item:
            return None
        # Items written before syncs had a `now` have no valid_until.
        valid_until = item.get("valid_until", {}).get("S")
        return SyncMarker(
            computed_at=datetime.fromisoformat(item["marker"]["S"]),
            valid_until=None if valid_until is None else datetime.fromisoformat(valid_until),
        )

    def set_marker(self, group: str, marker: SyncMarker | None) -> None:
        table = self._markers_table()
        if marker is None:
            call_with_retries(
                lambda: self.client.delete_item(TableName=table, Key={"group_name": {"S": group}}),
                self.backoff,
                group,
                "DeleteItem of the sync marker",
            )
            return
        # One item, one PutItem: both fields change together, or (a crash) neither does.
        item = {"group_name": {"S": group}, "marker": {"S": marker.computed_at.isoformat(timespec="microseconds")}}
        if marker.valid_until is not None:
            item["valid_until"] = {"S": marker.valid_until.isoformat(timespec="microseconds")}
        call_with_retries(
            lambda: self.client.put_item(TableName=table, Item=item), self.backoff, group, "PutItem of the sync marker"
        )

    def drop(self, group: str) -> bool:
        table = self.table_name(group)
        self.set_marker(group, None)
        self._ready_tables.discard(table)
        try:
            self.client.delete_table(TableName=table)
        except ClientError as error:
            if _error_code(error) == "ResourceNotFoundException":
                return False
            raise OnlineStoreError(f"cannot delete DynamoDB table {table}: {error}") from error
        return True

    def close(self) -> None:
        self.client.close()


def _version(item: dict[str, Any]) -> StoredVersion:
    return StoredVersion(int(item[EVENT_TIME]["N"]), int(item[COMPUTED_AT]["N"]), item[DIGEST]["S"])


def _chunks(records: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]
