"""The backfill's default chunk keeps each statement far below Athena's 30-minute DML timeout (docs/athena.md)."""

from __future__ import annotations

import inspect

from featurestore.cli import writers
from featurestore.offline.backfill import DEFAULT_CHUNK_DAYS, MAX_CHUNK_DAYS


def test_the_cli_default_chunk_is_a_week_not_near_the_partition_limit() -> None:
    # A 30- or 100-day chunk of a large group can outrun the 30-minute timeout; the limit of 100 partitions
    # is a ceiling, not a size to aim for.
    default = inspect.signature(writers.backfill).parameters["chunk_days"].default
    assert default == DEFAULT_CHUNK_DAYS
    assert DEFAULT_CHUNK_DAYS <= 7 < MAX_CHUNK_DAYS
