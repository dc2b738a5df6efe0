"""The demo data's contract with the dbt sources (table names, vocabularies, Arrow schemas) and its config."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

# The category list is shared with a dbt seed CSV; keep the two in sync.
CATEGORIES: tuple[str, ...] = (
    "politics",
    "business",
    "technology",
    "science",
    "sports",
    "entertainment",
    "world",
    "lifestyle",
    "health",
    "opinion",
)


SURFACES: tuple[str, ...] = ("home_feed", "category_tab", "push", "search", "related")


PLANS: tuple[str, ...] = ("free", "premium", "trial")


REACTION_KINDS: tuple[str, ...] = ("click", "like", "comment", "share")


TABLES: tuple[str, ...] = ("articles", "users", "impressions", "reactions")


_TS = pa.timestamp("us")


# These schemas are a contract with the dbt sources: change them together.
ARTICLES_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("published_at", _TS),
        ("category", pa.string()),
        ("publisher", pa.string()),
        ("length_words", pa.int32()),
        ("is_premium", pa.bool_()),
        ("ingested_at", _TS),
    ]
)


USERS_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("signed_up_at", _TS),
        ("plan", pa.string()),
        ("ingested_at", _TS),
    ]
)


IMPRESSIONS_SCHEMA = pa.schema(
    [
        ("impression_id", pa.string()),
        ("user_id", pa.int64()),
        ("article_id", pa.int64()),
        ("shown_at", _TS),
        ("position", pa.int32()),
        ("surface", pa.string()),
        ("ingested_at", _TS),
    ]
)


REACTIONS_SCHEMA = pa.schema(
    [
        ("reaction_id", pa.string()),
        ("impression_id", pa.string()),
        ("user_id", pa.int64()),
        ("article_id", pa.int64()),
        ("reacted_at", _TS),
        ("kind", pa.string()),
        ("dwell_seconds", pa.float64()),
        ("ingested_at", _TS),
    ]
)


@dataclass(frozen=True)
class DemoDataConfig:
    """Size, period and dirtiness of the generated data. Defaults build in a few seconds."""

    users: int = 2000
    days: int = 14
    start: datetime.date = datetime.date(2026, 10, 1)  # first day (UTC) of events
    seed: int = 42
    articles_per_day: int = 150
    impressions_per_user_day: float = 12.0  # mean; per-user activity is heterogeneous (lognormal)
    late_fraction: float = 0.02  # ingested hours..days after the event
    null_id_fraction: float = 0.003  # user_id or article_id null
    duplicate_fraction: float = 0.003  # exact duplicate rows (same row written twice)
    future_fraction: float = 0.001  # event timestamp later than ingested_at (client clock skew)

    def __post_init__(self) -> None:
        for name, minimum in (("users", 1), ("days", 1), ("articles_per_day", 1), ("seed", 0)):
            value = getattr(self, name)
            # bool is an int subclass; `users=True` is a bug, not a config.
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} must be an int, got {value!r}")
            if value < minimum:
                raise ValueError(f"{name} must be >= {minimum}, got {value}")
        # datetime is a date subclass; a time of day would silently shift every event.
        if not isinstance(self.start, datetime.date) or isinstance(self.start, datetime.datetime):
            raise ValueError(f"start must be a datetime.date, got {self.start!r}")
        rate = self.impressions_per_user_day
        if not _is_number(rate) or not math.isfinite(rate) or rate <= 0:
            raise ValueError(f"impressions_per_user_day must be a finite number > 0, got {rate!r}")
        for name in ("late_fraction", "null_id_fraction", "duplicate_fraction", "future_fraction"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value <= 0.5:
                raise ValueError(f"{name} must be a number in [0, 0.5], got {value!r}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class DemoDataSummary:
    """What `generate_demo_data` wrote."""

    out_dir: Path
    rows: dict[str, int]  # rows written per table, dirty and duplicate rows included
    files: int
    seconds: float
