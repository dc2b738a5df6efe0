"""The online store: the interface (base.py), its backends (sqlite.py, dynamodb/), what fills it (sync.py)
and what reads it (serving.py). A new backend implements `base.OnlineStore` in its own module and is
added to `open_online_store` here, the one place that names the backends."""

from __future__ import annotations

from typing import Any

from featurestore.core.settings import OnlineSettings
from featurestore.online.base import OnlineStore


def open_online_store(settings: OnlineSettings) -> OnlineStore:
    """The backend the settings name, opened (the DynamoDB client is built here, tables on first sync)."""
    if settings.backend == "dynamodb":
        from featurestore.online.dynamodb import DynamoDBOnlineStore

        return DynamoDBOnlineStore.from_settings(settings)
    from featurestore.online.sqlite import SqliteOnlineStore

    return SqliteOnlineStore(settings.sqlite_path)


def dynamodb_lease_table(settings: OnlineSettings) -> tuple[Any, str]:
    """A DynamoDB client and the online store's markers table (created if missing), where the leases live:
    the sync's and the offline writers' (offline/writer_lease.py), whatever the online backend."""
    from featurestore.online.dynamodb import DynamoDBOnlineStore

    store = DynamoDBOnlineStore.from_settings(settings)
    return store.client, store.markers_table()


__all__ = ["OnlineStore", "dynamodb_lease_table", "open_online_store"]
