"""Reads of the DynamoDB online store: batched, eventually consistent gets for lookups (BatchGetItem, 100
keys a call), retried on throttling and unprocessed keys."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from featurestore.core.contract import FeatureGroup
from featurestore.core.errors import OnlineStoreError
from featurestore.core.retry import Backoff, describe_error, is_retryable
from featurestore.online.base import GroupCodec, StoredRow, WriteStats
from featurestore.online.dynamodb.codec import EVENT_TIME, EXPIRES_AT, KEY, row_of
from featurestore.online.dynamodb.tables import DynamoDBTables, error_code

BATCH_GET_LIMIT = 100


class DynamoDBReads(DynamoDBTables):
    backoff: Backoff
    _codecs: dict[str, GroupCodec]

    def _codec(self, group: FeatureGroup) -> GroupCodec:
        codec = self._codecs.get(group.name)
        if codec is None or codec.group != group:
            codec = self._codecs[group.name] = GroupCodec(group)
        return codec

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
                found[item[KEY]["S"]] = row_of(item, codec.types, features)
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
                code = error_code(error)
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
