"""DynamoDB tables of the online store: one on-demand table per group (`<prefix><group>`) with TTL on
`_expires_at`, created on a group's first sync (TTL checked with DescribeTimeToLive and repaired when off),
and `<prefix>__sync_markers` for markers and leases (the sync's and the offline writers')."""

from __future__ import annotations

import logging
import time
from typing import Any

from botocore.exceptions import ClientError

from featurestore.core.errors import OnlineStoreError
from featurestore.online.base import ItemCount
from featurestore.online.dynamodb.codec import EXPIRES_AT, KEY, MARKER_KEY

log = logging.getLogger(__name__)

MARKERS_SUFFIX = "__sync_markers"
# What endpoints without TTL (dynalite, in tests and benchmarks) answer to its requests.
NO_TTL_ERRORS = ("UnknownOperationException", "UnrecognizedClientException")


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class DynamoDBTables:
    """Table lifecycle: names, creation (on-demand, TTL), deletion and item counts."""

    def __init__(self, client: Any, table_prefix: str) -> None:
        self.client = client
        self.table_prefix = table_prefix
        self._ready_tables: set[str] = set()

    def table_name(self, group: str) -> str:
        return f"{self.table_prefix}{group}"

    def ensure_table(self, table: str, key: str = KEY, ttl_attribute: str | None = EXPIRES_AT) -> None:
        """Create the table if missing (on-demand), wait until it is active, and make sure TTL is on
        `ttl_attribute` (once per table and process: a table left without TTL is repaired)."""
        if table in self._ready_tables:
            return
        try:
            status = self.client.describe_table(TableName=table)["Table"]["TableStatus"]
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
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
            if error_code(error) != "ResourceInUseException":
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
            if error_code(error) in NO_TTL_ERRORS:
                log.warning("%s: this DynamoDB endpoint does not support TTL; expired items are not deleted", table)
                return
            if error_code(error) == "ValidationException":
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
            if error_code(error) not in NO_TTL_ERRORS:
                raise OnlineStoreError(f"cannot describe the TTL of DynamoDB table {table}: {error}") from error
            log.warning("%s: this DynamoDB endpoint does not support TTL; expired items are not deleted", table)
            return None
        attribute = description.get("AttributeName")
        return str(description.get("TimeToLiveStatus", "DISABLED")), None if attribute is None else str(attribute)

    def markers_table(self) -> str:
        """The table of sync markers and leases (created if missing)."""
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

    def item_count(self, group: str, *, exact: bool = False) -> ItemCount | None:
        """DescribeTable's ItemCount (free, but DynamoDB refreshes it only about every six hours), or with
        `exact` a Scan counting every item (reads the whole table: read units in proportion to its size)."""
        table = self.table_name(group)
        try:
            if not exact:
                return ItemCount(int(self.client.describe_table(TableName=table)["Table"].get("ItemCount", 0)), False)
            count = 0
            for page in self.client.get_paginator("scan").paginate(TableName=table, Select="COUNT"):
                count += int(page["Count"])
            return ItemCount(count, True)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return None
            raise OnlineStoreError(f"cannot count the items of DynamoDB table {table}: {error}") from error
