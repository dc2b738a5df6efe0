"""A lease in DynamoDB: the online sync's per-group lease of the DynamoDB store's batched write modes, and
(with another key prefix) the offline writers' lease of a model on Athena (offline/writer_lease.py).

BatchWriteItem takes no conditions, so batched newest-wins writes are only safe while no other sync
writes the group: the sync holds a lease (an item `lease#<group>` in the markers table, taken with a
conditional PutItem that increments a fencing token). While the sync writes, a background thread
renews it (a conditional UpdateItem on the token) every quarter of its validity, so a slow request, a GC
pause or a busy CPU shorter than the validity costs nothing. Fencing is local and unconditional: before
each batch the writer checks that the lease is still its own by its monotonic clock (renewed within the
last 80% of the validity, never taken over); a process that was frozen past that (its renewer frozen with
it) stops with LeaseLostError instead of writing. The residual risk, accepted by choosing this mode: a
process that stalls longer than the lease's margin (a fifth of the validity) between that check and the
write it guards; `conditional` mode has none (docs/online_store.md).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

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
        *,
        key_prefix: str = "lease#",
        holder_kind: str = "sync",
    ) -> None:
        # key_prefix/holder_kind: the online sync's lease (`lease#<group>`), or another writer's, e.g. the
        # offline writers' `writer#<model>` (offline/writer_lease.py), named in the messages as `holder_kind`.
        self.key_prefix = key_prefix
        self.kind = holder_kind
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
        self._lost: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def _key(self) -> dict[str, Any]:
        return {"group_name": {"S": f"{self.key_prefix}{self.group}"}}

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
                            # When it was taken (UTC): offline/writer_lease.py's in_flight_since.
                            "since_ms": {"N": str(now_ms)},
                            "what": {"S": self.kind},
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
                holder = item.get("what", {}).get("S", self.kind) if item else self.kind
                raise OnlineStoreError(
                    f"another {holder} of '{self.group}' holds its lease (DynamoDB item "
                    f"{self.key_prefix}{self.group} in {self.table}); wait for it to finish, or for the lease "
                    "to expire"
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
        """Before each write: still ours by the local clock (renewed past half its time if the background
        renewer is late); else LeaseLostError."""
        with self._lock:
            if self._lost is not None:
                raise LeaseLostError(self._lost)
            now = time.monotonic()
            if now < self._renew_after:
                return
            if now > self._valid_until:
                raise LeaseLostError(
                    f"{self.kind} of '{self.group}' stalled past its lease; stopped writing "
                    f"(rerun the {self.kind}; nothing is lost)"
                )
            self._renew()

    def _if_ours(self, values: dict[str, Any] | None = None) -> dict[str, Any]:
        """The parts of a request on the lease item that make it apply only while the lease is still ours (the
        token and holder it was taken with), with further expression `values`."""
        return {
            "TableName": self.table,
            "Key": self._key,
            "ConditionExpression": "#tok = :tok AND holder = :me",
            "ExpressionAttributeNames": {"#tok": "token"},
            "ExpressionAttributeValues": {
                ":tok": {"N": str(self.token)},
                ":me": {"S": self.holder},
                **(values or {}),
            },
        }

    def _renew(self) -> None:
        """Extend the lease by its validity, conditionally on the token (call with the lock held)."""
        started = time.monotonic()
        try:
            expires = {":exp": {"N": str(int(time.time() * 1000) + int(self.seconds * 1000))}}
            self._call(self.client.update_item, UpdateExpression="SET expires_ms = :exp", **self._if_ours(expires))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                self._lost = f"another {self.kind} took the lease of '{self.group}'; stopped writing"
                raise LeaseLostError(self._lost) from error
            raise
        self._started(started)

    def start_renewing(self) -> None:
        """Renew the lease from a background thread, every quarter of its validity, until `stop_renewing`."""
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew_loop, name=f"lease-{self.group}", daemon=True)
        self._renewer.start()

    def stop_renewing(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.seconds / 4):
            with self._lock:
                if self._lost is not None:
                    return
                if time.monotonic() > self._valid_until:
                    # Frozen past the lease (the writers check the same clock and stop): renewing now could
                    # only succeed if no one took it, but the writers' verdict must not depend on a race.
                    self._lost = (
                        f"{self.kind} of '{self.group}' stalled past its lease; stopped writing "
                        f"(rerun the {self.kind}; nothing is lost)"
                    )
                    return
                try:
                    self._renew()
                except LeaseLostError:
                    return
                except (ClientError, BotoCoreError, SyncGaveUpError) as error:
                    # Transient: the next round tries again; the writers stop if the validity runs out.
                    log.warning("renewing the lease of feature group '%s' failed: %s", self.group, error)

    def __enter__(self) -> GroupLease:
        self.acquire()
        self.start_renewing()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_renewing()
        self.release()

    def release(self) -> None:
        """Delete the lease if it is still ours. Never raises for throttling: the writes are done and confirmed,
        and a lease left behind only delays the next sync until it expires."""
        try:
            self._call(self.client.delete_item, **self._if_ours())
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
