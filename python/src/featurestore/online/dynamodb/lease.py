"""A per-group lease in DynamoDB, for the DynamoDB store's batched write mode.

BatchWriteItem takes no conditions, so batched newest-wins writes are only safe while no other sync
writes the group: the sync holds a lease (an item `lease#<group>` in the markers table, taken with a
conditional PutItem that increments a fencing token) and checks, before each batch, that the lease is
still its own by its local monotonic clock, renewing it (conditionally on the token) past half its time.
The residual risk, accepted by choosing this mode: a process that stalls longer than the lease's margin
between that check and the write it guards; `conditional` mode has none (docs/online_store.md).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from featurestore.core.errors import LeaseLostError, OnlineStoreError, SyncGaveUpError
from featurestore.core.retry import Backoff, call_with_retries

log = logging.getLogger(__name__)


class GroupLease:
    def __init__(
        self,
        client: Any,
        table: str,
        group: str,
        seconds: float = 30.0,
        wait_seconds: float | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.client = client
        self.table = table
        self.group = group
        self.seconds = seconds
        self.wait_seconds = 2 * seconds if wait_seconds is None else wait_seconds
        self.backoff = backoff or Backoff()
        self.holder = uuid.uuid4().hex
        self.token = 0
        self._valid_until = 0.0
        self._renew_after = 0.0
        self._lock = threading.Lock()

    @property
    def _key(self) -> dict[str, Any]:
        return {"group_name": {"S": f"lease#{self.group}"}}

    def acquire(self) -> None:
        """Take the lease, waiting (up to wait_seconds) for a holder to release it or let it expire."""
        deadline = time.monotonic() + self.wait_seconds
        while True:
            item = self._call(self.client.get_item, TableName=self.table, Key=self._key, ConsistentRead=True).get(
                "Item"
            )
            now_ms = int(time.time() * 1000)
            token = int(item["token"]["N"]) if item else 0
            if item is None or int(item["expires_ms"]["N"]) < now_ms:
                started = time.monotonic()
                condition = "attribute_not_exists(group_name)" if item is None else "#tok = :old AND expires_ms < :now"
                values = {} if item is None else {":old": {"N": str(token)}, ":now": {"N": str(now_ms)}}
                try:
                    self._call(
                        self.client.put_item,
                        TableName=self.table,
                        Item={
                            **self._key,
                            "holder": {"S": self.holder},
                            "token": {"N": str(token + 1)},
                            "expires_ms": {"N": str(now_ms + int(self.seconds * 1000))},
                        },
                        ConditionExpression=condition,
                        **({"ExpressionAttributeNames": {"#tok": "token"}} if item is not None else {}),
                        **({"ExpressionAttributeValues": values} if values else {}),
                    )
                except ClientError as error:
                    if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                        raise
                else:
                    self.token = token + 1
                    self._started(started)
                    return
            if time.monotonic() > deadline:
                raise OnlineStoreError(
                    f"another sync of feature group '{self.group}' holds its lease (DynamoDB item "
                    f"lease#{self.group} in {self.table}); wait for it to finish, or for the lease to expire"
                )
            time.sleep(min(0.2, self.seconds / 10))

    def _call(self, method: Callable[..., dict[str, Any]], **request: Any) -> dict[str, Any]:
        """One request of the lease, retried on throttling like the sync's writes (SyncGaveUpError at last)."""
        return call_with_retries(lambda: method(**request), self.backoff, self.group, f"the lease's {method.__name__}")

    def _started(self, monotonic_start: float) -> None:
        # Measured from before the request: the lease may have been granted at any point of it. The last
        # fifth is a margin for the request that a check lets through.
        self._valid_until = monotonic_start + self.seconds * 0.8
        self._renew_after = monotonic_start + self.seconds * 0.5

    def check(self) -> None:
        """Before each write: still ours by the local clock, renewed past half its time; else LeaseLostError."""
        with self._lock:
            now = time.monotonic()
            if now < self._renew_after:
                return
            if now > self._valid_until:
                raise LeaseLostError(
                    f"sync of feature group '{self.group}' stalled past its lease; stopped writing "
                    "(rerun `featurestore sync`; nothing is lost)"
                )
            started = time.monotonic()
            try:
                self._call(
                    self.client.update_item,
                    TableName=self.table,
                    Key=self._key,
                    UpdateExpression="SET expires_ms = :exp",
                    ConditionExpression="#tok = :tok AND holder = :me",
                    ExpressionAttributeNames={"#tok": "token"},
                    ExpressionAttributeValues={
                        ":exp": {"N": str(int(time.time() * 1000) + int(self.seconds * 1000))},
                        ":tok": {"N": str(self.token)},
                        ":me": {"S": self.holder},
                    },
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    raise LeaseLostError(
                        f"another sync took the lease of feature group '{self.group}'; stopped writing"
                    ) from error
                raise
            self._started(started)

    def release(self) -> None:
        """Delete the lease if it is still ours. Never raises for throttling: the writes are done and confirmed,
        and a lease left behind only delays the next sync until it expires."""
        try:
            self._call(
                self.client.delete_item,
                TableName=self.table,
                Key=self._key,
                ConditionExpression="#tok = :tok AND holder = :me",
                ExpressionAttributeNames={"#tok": "token"},
                ExpressionAttributeValues={":tok": {"N": str(self.token)}, ":me": {"S": self.holder}},
            )
            return
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return  # expired and taken by another sync: nothing of ours to release
            problem: Exception = error
        except SyncGaveUpError as error:
            problem = error
        log.warning(
            "could not release the lease of feature group '%s' (%s); it expires in at most %.0f s",
            self.group,
            problem,
            self.seconds,
        )
