"""The production online store: one on-demand DynamoDB table per feature group.

Table `<prefix><group>` (PAY_PER_REQUEST, created on a group's first sync, TTL enabled on `_expires_at`),
one item per entity:

    _key         S  the encoded entity key (core/keys.py), the partition key
    _event_time  N  event time, microseconds since the epoch (UTC)
    _computed_at N  when the dbt run that wrote the row started, microseconds since the epoch
    _digest      S  a digest of the values (value_codec.digest)
    _state       S  the tag of the group state the item was written under (online.base.GroupState)
    _expires_at  N  event time + the group's TTL, epoch seconds (DynamoDB's TTL attribute); absent for
                    a group with `ttl: none`
    <feature>       one attribute per feature, typed by its data_type (value_codec.to_dynamodb)

Newest-wins (the rule of online/base.py), three write modes (docs/online_store.md has their costs):

- `conditional`: every record is a conditional PutItem, sent from a pool of threads,

      attribute_not_exists(_key) OR attribute_not_exists(_state) OR _state <> :s OR _event_time < :t
          OR (_event_time = :t AND _computed_at < :c AND _digest <> :d)

  so DynamoDB enforces it against any writer. A failed condition is a stale record (counted, not retried).
- `batch`: BatchWriteItem takes no conditions, so the sync holds a per-group lease (aws/dynamodb_lease.py),
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
`valid_until` = the sync's `now`, `state` = the group state as JSON).

The jobs live in sibling modules, each a layer of this class: tables.py (lifecycle, TTL), codec.py
(items), reads.py, writes.py (the three modes' requests), full_load.py (scan and repair), capacity.py
(billing of refused writes); the lease is aws/dynamodb_lease.py, shared with the offline writers' leases.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config

from featurestore.aws.dynamodb_lease import GroupLease
from featurestore.core.contract import FeatureGroup
from featurestore.core.retry import Backoff, call_with_retries
from featurestore.core.settings import OnlineSettings, check_write_mode
from featurestore.online.base import (
    GroupCodec,
    OnlineRecord,
    ProgressCallback,
    StoredVersion,
    SyncMarker,
    WriteStats,
    is_newer,
    obsolete_items,
    unbacked_candidates,
)
from featurestore.online.dynamodb.codec import MARKER_KEY, marker_item, marker_of
from featurestore.online.dynamodb.full_load import DynamoDBFullLoad
from featurestore.online.dynamodb.reads import BATCH_GET_LIMIT
from featurestore.online.dynamodb.writes import BATCH_WRITE_LIMIT, TASK_SIZE

__all__ = ["DynamoDBOnlineStore"]


class DynamoDBOnlineStore(DynamoDBFullLoad):
    def __init__(
        self,
        client: Any,
        table_prefix: str = "featurestore_",
        write_concurrency: int = 16,
        backoff: Backoff | None = None,
        write_mode: str = "auto",
        lease_seconds: float = 30.0,
    ) -> None:
        check_write_mode(write_mode, "write_mode")
        super().__init__(client, table_prefix)
        self.write_concurrency = write_concurrency
        self.backoff = backoff or Backoff()
        self.write_mode = write_mode
        self.lease_seconds = lease_seconds
        self._codecs: dict[str, GroupCodec] = {}

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

    def write(
        self,
        group: FeatureGroup,
        records: Sequence[OnlineRecord],
        progress: ProgressCallback | None = None,
        *,
        full_load_at: datetime | None = None,
        state: str | None = None,
    ) -> WriteStats:
        table = self.table_name(group.name)
        self.ensure_table(table)
        # Batched writes are safe only while every writer of the group holds the lease, so `auto` takes it
        # for its conditional (incremental) writes too.
        batched = self.write_mode == "batch" or (self.write_mode == "auto" and full_load_at is not None)
        lease = None
        if self.write_mode != "conditional":
            lease = GroupLease(self.client, self.markers_table(), group.name, self.lease_seconds, backoff=self.backoff)
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
                if state is not None:
                    total.obsolete = obsolete_items(versions, records, state)
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

                total.add(self._write_concurrently(records, TASK_SIZE, put_each, progress))
            return total
        finally:
            if lease is not None:
                lease.stop_renewing()
                lease.release()

    def get_marker(self, group: str) -> SyncMarker | None:
        table = self.markers_table()
        response = call_with_retries(
            lambda: self.client.get_item(TableName=table, Key={MARKER_KEY: {"S": group}}, ConsistentRead=True),
            self.backoff,
            group,
            "GetItem of the sync marker",
        )
        item = response.get("Item")
        return marker_of(item) if item else None

    def set_marker(self, group: str, marker: SyncMarker | None) -> None:
        table = self.markers_table()
        if marker is None:
            call_with_retries(
                lambda: self.client.delete_item(TableName=table, Key={MARKER_KEY: {"S": group}}),
                self.backoff,
                group,
                "DeleteItem of the sync marker",
            )
            return
        # One item, one PutItem: both fields change together, or (a crash) neither does.
        item = marker_item(group, marker)
        call_with_retries(
            lambda: self.client.put_item(TableName=table, Item=item), self.backoff, group, "PutItem of the sync marker"
        )

    def drop(self, group: str) -> bool:
        self.set_marker(group, None)
        return self.delete_table(self.table_name(group))

    def close(self) -> None:
        self.client.close()
