"""DynamoDB tables of the online store: one on-demand table per group (`<prefix><group>`) with TTL on
`_expires_at`, created on a group's first sync, and `<prefix>__sync_markers` for markers and leases."""

from __future__ import annotations

import logging
import time
from typing import Any

from botocore.exceptions import ClientError

from featurestore.core.errors import OnlineStoreError
from featurestore.online.dynamodb.codec import EXPIRES_AT, KEY, MARKER_KEY

log = logging.getLogger(__name__)

MARKERS_SUFFIX = "__sync_markers"


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class DynamoDBTables:
    """Table lifecycle: names, creation (on-demand, TTL) and deletion."""

    def __init__(self, client: Any, table_prefix: str) -> None:
        self.client = client
        self.table_prefix = table_prefix
        self._ready_tables: set[str] = set()

    def table_name(self, group: str) -> str:
        return f"{self.table_prefix}{group}"

    def ensure_table(self, table: str, key: str = KEY, ttl_attribute: str | None = EXPIRES_AT) -> None:
        """Create the table if missing (on-demand, TTL on `ttl_attribute`) and wait until it is active."""
        if table in self._ready_tables:
            return
        try:
            status = self.client.describe_table(TableName=table)["Table"]["TableStatus"]
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
                raise OnlineStoreError(f"cannot describe DynamoDB table {table}: {error}") from error
            status = self._create_table(table, key, ttl_attribute)
        deadline = time.monotonic() + 300
        while status != "ACTIVE":
            if time.monotonic() > deadline:
                raise OnlineStoreError(f"DynamoDB table {table} is still {status} after 5 minutes")
            time.sleep(0.2)
            status = self.client.describe_table(TableName=table)["Table"]["TableStatus"]
        self._ready_tables.add(table)

    def _create_table(self, table: str, key: str, ttl_attribute: str | None) -> str:
        try:
            response = self.client.create_table(
                TableName=table,
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
            status = str(response["TableDescription"]["TableStatus"])
        except ClientError as error:
            # Another sync created it first.
            if error_code(error) != "ResourceInUseException":
                raise OnlineStoreError(f"cannot create DynamoDB table {table}: {error}") from error
            status = "CREATING"
        if ttl_attribute is not None:
            self._enable_ttl(table, ttl_attribute, status)
        return status

    def _enable_ttl(self, table: str, attribute: str, status: str) -> None:
        while status != "ACTIVE":
            time.sleep(0.1)
            status = self.client.describe_table(TableName=table)["Table"]["TableStatus"]
        try:
            self.client.update_time_to_live(
                TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
            )
        except ClientError as error:
            # dynalite (tests, benchmarks) has no TTL; readers treat expired items as missing regardless.
            if error_code(error) not in ("UnknownOperationException", "UnrecognizedClientException"):
                raise OnlineStoreError(f"cannot enable TTL on DynamoDB table {table}: {error}") from error
            log.warning("%s: this DynamoDB endpoint does not support TTL; expired items are not deleted", table)

    def _markers_table(self) -> str:
        table = self.table_prefix + MARKERS_SUFFIX
        self.ensure_table(table, key=MARKER_KEY, ttl_attribute=None)
        return table

    def delete_table(self, table: str) -> bool:
        """Delete `table`; False when there was none."""
        self._ready_tables.discard(table)
        try:
            self.client.delete_table(TableName=table)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return False
            raise OnlineStoreError(f"cannot delete DynamoDB table {table}: {error}") from error
        return True
