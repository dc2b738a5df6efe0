"""`FeatureStore`: the library's entry point, a small facade over the modules that do the work."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from types import TracebackType
from typing import Any

from featurestore.manifest import FeatureGroupCatalog
from featurestore.online_store import OnlineStore, open_online_store, utc_now
from featurestore.serving import OnlineFeatures, get_online_features
from featurestore.settings import Settings
from featurestore.sync import GroupSyncSummary, OfflineReader, SyncProgress, sync


class FeatureStore:
    """Feature groups of one dbt project with their online store::

    with FeatureStore.from_settings(Settings.from_env()) as store:
        store.get_online_features(["user_engagement:clicks_7d"], [{"user_id": 7}])
    """

    def __init__(
        self,
        catalog: FeatureGroupCatalog,
        online_store: OnlineStore,
        *,
        offline_reader: OfflineReader | None = None,
        settings: Settings | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.catalog = catalog
        self.online_store = online_store
        self.offline_reader = offline_reader
        self.settings = settings
        self._now = now
        self._executor: ThreadPoolExecutor | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        offline_reader: OfflineReader | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> FeatureStore:
        """Groups from the project's manifest, the configured online store, the local DuckDB offline store."""
        from featurestore.offline_store import DuckDBOfflineStore

        catalog = FeatureGroupCatalog.from_manifest_path(settings.manifest_path)
        return cls(
            catalog,
            open_online_store(settings.online),
            offline_reader=offline_reader or DuckDBOfflineStore(settings.duckdb_path),
            settings=settings,
            now=now or utc_now,
        )

    def get_online_features(self, features: Sequence[str], entity_rows: Sequence[Mapping[str, Any]]) -> OnlineFeatures:
        """The latest values of `features` ("group:feature") for each entity row, in request order; a value
        whose entity is absent or expired is None with status NOT_FOUND or EXPIRED."""
        if self._executor is None:
            # Created on first use, owned by this object (closed by close()): groups are fetched in parallel.
            self._executor = ThreadPoolExecutor(8, thread_name_prefix="online-read")
        return get_online_features(
            self.catalog, self.online_store, features, entity_rows, now=self._now, executor=self._executor
        )

    def sync(
        self, select: Sequence[str] | None = None, progress: SyncProgress | None = None
    ) -> Iterable[GroupSyncSummary]:
        """Sync the selected (default: all online) groups from the offline store; see featurestore.sync."""
        if self.offline_reader is None:
            raise ValueError("this FeatureStore has no offline reader; pass offline_reader= to sync")
        overlap = self.settings.online.sync_overlap if self.settings else None
        return sync(
            self.catalog,
            self.offline_reader,
            self.online_store,
            select=select,
            progress=progress,
            **({"overlap": overlap} if overlap is not None else {}),
        )

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)
        self.online_store.close()

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
