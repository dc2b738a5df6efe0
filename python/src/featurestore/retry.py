"""Bounded exponential backoff with full jitter, for throttling and unprocessed items."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


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
