"""Bounded exponential backoff with full jitter, for throttling and unprocessed items."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from featurestore.core.errors import SyncGaveUpError

T = TypeVar("T")
# DynamoDB errors worth retrying: throttling and server-side trouble.
RETRYABLE_DYNAMODB_ERRORS = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        # botocore's standard retry mode's transient codes (botocore/retries/standard.py).
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
    }
)
# As botocore's standard mode: any error with these HTTP statuses is transient (a load balancer's 502 or
# 504 carries no DynamoDB error code), and 429 is throttling.
RETRYABLE_HTTP_STATUSES = frozenset({429, 500, 502, 503, 504})


def is_retryable(error: ClientError) -> bool:
    """Throttling, or a server-side or transient error: worth another attempt after a backoff."""
    code = str(error.response.get("Error", {}).get("Code", ""))
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in RETRYABLE_DYNAMODB_ERRORS or status in RETRYABLE_HTTP_STATUSES


@dataclass(frozen=True)
class Backoff:
    """Attempt n (from 0) waits a uniform random time in [0, min(cap, base * 2**n)] (AWS's "full jitter",
    which spreads retrying clients apart); after `max_attempts` failures the caller gives up."""

    max_attempts: int = 10
    base_seconds: float = 0.05
    cap_seconds: float = 5.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def wait(self, attempt: int) -> None:
        self.sleep(self.rng.uniform(0, min(self.cap_seconds, self.base_seconds * 2**attempt)))


def call_with_retries(
    call: Callable[[], T],
    backoff: Backoff,
    group: str,
    operation: str,
    on_retry: Callable[[], None] | None = None,
) -> T:
    """`call()`, retried on throttling, server (HTTP 5xx) and connection errors (`on_retry` told of each retry);
    SyncGaveUpError naming the group and the operation after the last attempt. Other errors (a failed
    condition among them) are raised as they are."""
    last = ""
    for attempt in range(backoff.max_attempts):
        try:
            return call()
        except ClientError as error:
            if not is_retryable(error):
                raise
            last = f"{describe_error(error)} on {operation}"
        except BotoCoreError as error:
            last = f"{type(error).__name__} on {operation}: {error}"
        if on_retry is not None:
            on_retry()
        if attempt + 1 < backoff.max_attempts:
            backoff.wait(attempt)
    raise SyncGaveUpError(group, f"{last}, {backoff.max_attempts} attempts")


def describe_error(error: ClientError) -> str:
    """The error's code, else its HTTP status (a proxy's 502 has no code)."""
    code = error.response.get("Error", {}).get("Code")
    return str(code) if code else f"HTTP {error.response.get('ResponseMetadata', {}).get('HTTPStatusCode')}"
