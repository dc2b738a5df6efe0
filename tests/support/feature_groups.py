"""Small feature groups written by tests, and the staging tables they read: one home for both."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

# The staging models' output types, for tests that stage events themselves instead of building staging.
STAGING_COLUMNS: Mapping[str, Sequence[tuple[str, str]]] = {
    "stg_news__impressions": (
        ("impression_id", "varchar"),
        ("user_id", "bigint"),
        ("article_id", "bigint"),
        ("shown_at", "timestamp"),
        ("feed_position", "integer"),
        ("surface", "varchar"),
        ("ingested_at", "timestamp"),
    ),
    "stg_news__reactions": (
        ("reaction_id", "varchar"),
        ("impression_id", "varchar"),
        ("user_id", "bigint"),
        ("article_id", "bigint"),
        ("reacted_at", "timestamp"),
        ("reaction_kind", "varchar"),
        ("dwell_seconds", "double"),
        ("ingested_at", "timestamp"),
    ),
    "stg_news__articles": (
        ("article_id", "bigint"),
        ("published_at", "timestamp"),
        ("category", "varchar"),
        ("publisher", "varchar"),
        ("length_words", "integer"),
        ("is_premium", "boolean"),
        ("ingested_at", "timestamp"),
    ),
}


def write_article_group(
    groups: Path,
    name: str,
    events_sql: str,
    aggregations: Mapping[str, Any],
    columns: Sequence[tuple[str, str | None]],
    description: str = "A test group.",
) -> None:
    """`<name>.sql` (the declarative call block around `events_sql`) and `<name>.yml` in `groups`: a windowed
    group per article (`effective_at`, offline only) with `aggregations` as its declaration and `columns`
    (name, data type or None) as its contract's columns."""
    (groups / f"{name}.sql").write_text(events_sql)
    model = {
        "name": name,
        "description": description,
        "config": {
            "meta": {
                "feature_group": {
                    "entity": ["article_id"],
                    "event_time": "effective_at",
                    "online": False,
                    "ttl": "1d",
                    "owner": "tests",
                    "aggregations": dict(aggregations),
                }
            }
        },
        "columns": [
            {"name": column, **({"data_type": data_type} if data_type else {}), "description": column}
            for column, data_type in columns
        ],
    }
    (groups / f"{name}.yml").write_text(yaml.safe_dump({"version": 2, "models": [model]}, sort_keys=False))
