"""A full load's side of the DynamoDB online store: one consistent parallel Scan of every stored version
(billed by data size, not per item), and the repair of stored items a backfill left without an offline row
(replace_unchanged: a PutItem or DeleteItem conditional on the version scanned)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from featurestore.core.contract import FeatureGroup
from featurestore.core.errors import OnlineStoreError
from featurestore.core.retry import call_with_retries
from featurestore.online.base import StoredVersion, Unbacked, WriteStats
from featurestore.online.dynamodb.codec import COMPUTED_AT, EVENT_TIME, KEY, VERSION_NAMES, version_of
from featurestore.online.dynamodb.writes import TASK_SIZE, DynamoDBWrites


class DynamoDBFullLoad(DynamoDBWrites):
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
                sent: dict[str, Any] | None = None
                if item.record is None:
                    operation, send = "DeleteItem", self.client.delete_item
                    request["Key"] = {KEY: {"S": item.key}}
                else:
                    operation, send = "PutItem", self.client.put_item
                    sent = request["Item"] = self.item(group, item.record)
                applied = self._conditional_request(
                    group.name, item.key, operation, partial(send, **request), stats, sent_item=sent
                )
                if item.record is None:
                    stats.deleted += applied
                else:
                    stats.written += applied

        return self._write_concurrently(items, TASK_SIZE, repair_each, None)

    def _scan_versions(self, group: str, table: str, stats: WriteStats) -> dict[str, StoredVersion]:
        """Every stored item's version (key, event time, computed_at, digest): a strongly consistent
        parallel Scan, one segment per writer thread."""
        segments = max(1, self.write_concurrency)

        def scan_segment(segment: int) -> tuple[dict[str, StoredVersion], WriteStats]:
            found: dict[str, StoredVersion] = {}
            seen = WriteStats()
            request: dict[str, Any] = {
                "TableName": table,
                "ProjectionExpression": ", ".join(VERSION_NAMES),
                "ExpressionAttributeNames": VERSION_NAMES,
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
                    found[item[KEY]["S"]] = version_of(item)
                if "LastEvaluatedKey" not in response:
                    return found, seen
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

        versions: dict[str, StoredVersion] = {}
        with ThreadPoolExecutor(segments, thread_name_prefix="online-scan") as executor:
            for found, seen in executor.map(scan_segment, range(segments)):
                versions.update(found)
                stats.add(seen)
        return versions
