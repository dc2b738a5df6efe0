"""The online store: the interface (base.py), its backends (sqlite.py, dynamodb/), what fills it (sync.py)
and what reads it (serving.py). A new backend implements `base.OnlineStore` in its own module and is
added to `open_online_store` here, the one place that names the backends."""

from __future__ import annotations

from featurestore.core.settings import OnlineSettings
from featurestore.online.base import OnlineStore


def open_online_store(settings: OnlineSettings) -> OnlineStore:
    """The backend the settings name, opened (the DynamoDB client is built here, tables on first sync)."""
    if settings.backend == "dynamodb":
        from featurestore.online.dynamodb import DynamoDBOnlineStore

        return DynamoDBOnlineStore.from_settings(settings)
    from featurestore.online.sqlite import SqliteOnlineStore

    return SqliteOnlineStore(settings.sqlite_path)


__all__ = ["OnlineStore", "open_online_store"]
