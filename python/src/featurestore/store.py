"""`FeatureStore`: the library's entry point, a small facade over the modules that do the work."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow.compute as pc

from featurestore.core.definitions import DefinitionState, DefinitionStatus
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.core.settings import Settings
from featurestore.core.timestamps import naive_utc, utc_now
from featurestore.offline import OfflineReader, TrainingSetSource, open_offline_store
from featurestore.offline.base import SpineInput
from featurestore.offline.candidates import Candidate
from featurestore.offline.definitions import DefinitionChecker
from featurestore.offline.frames import training_frame
from featurestore.offline.training_sets import TrainingSetRequest, resolve_spine
from featurestore.offline.writer_lease import open_writer_leases
from featurestore.online import OnlineStore, open_online_store
from featurestore.online.serving import OnlineFeatures, get_online_features
from featurestore.online.sync import GroupSyncSummary, SyncProgress, sync


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
        training_sets: TrainingSetSource | None = None,
        settings: Settings | None = None,
        now: Callable[[], datetime] = utc_now,
        definitions: DefinitionChecker | None = None,
    ) -> None:
        self.catalog = catalog
        self.online_store = online_store
        self.offline_reader = offline_reader
        self.training_sets = training_sets
        self.settings = settings
        # Whether each group's stored history is its current definition (None: not checked).
        self.definitions = definitions
        # One clock for lookups (expiry) and syncs (which rows are valid): injected for demos and tests.
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
        """Groups from the project's manifest, the configured online store, and the offline store of the
        configured target (FEATURESTORE_TARGET): the local DuckDB file, or Athena."""
        catalog = FeatureGroupCatalog.from_manifest_path(settings.manifest_path)
        offline = open_offline_store(settings, catalog)
        return cls(
            catalog,
            open_online_store(settings.online),
            offline_reader=offline_reader or offline.store,
            training_sets=offline.training_sets,
            settings=settings,
            now=now or utc_now,
            definitions=DefinitionChecker(offline.store, offline.compiler) if offline.compiler else None,
        )

    @classmethod
    def from_env(cls, project_dir: Path | None = None) -> FeatureStore:
        """from_settings(Settings.from_env(project_dir)): the dbt project in `project_dir` (default: the
        current directory), configured by FEATURESTORE_* variables as the CLI is."""
        return cls.from_settings(Settings.from_env(project_dir))

    def get_training_set(
        self,
        spine: SpineInput,
        features: Sequence[str],
        *,
        spine_time: str,
        keys: Mapping[str, Mapping[str, str]] | None = None,
        inclusive: bool = True,
        ttl: Mapping[str, str] | None = None,
        full_feature_names: bool = True,
        as_pandas: bool = False,
        candidates: Sequence[Candidate] = (),
        allow_stale_definitions: bool = False,
    ) -> Any:
        """The spine (a pandas DataFrame, a pyarrow Table, a Parquet file or a table name) with each of
        `features` ("group:feature") as it was at the row's `spine_time`, by the dbt macro point_in_time_join;
        see docs/training_sets.md. `candidates`: feature tables that are not models yet, requested as
        "<candidate>:<column>" and joined by the same rules. A pyarrow Table in the spine's row order, or a
        pandas DataFrame; the spine's columns come back as they went in (types, time zones; a DataFrame's
        index).

        A group whose stored history is not its current definition (its fingerprint changed since it was built)
        is refused with StaleDefinitionError naming the fix, unless `allow_stale_definitions`; a group with
        mixed history (recomputed from a date with --accept-mixed-history) gives a MixedHistoryWarning when
        spine times fall before that date."""
        if self.training_sets is None:
            raise ValueError("this FeatureStore has no offline store for training sets; use from_settings()")
        request = TrainingSetRequest(
            features=list(features),
            spine_time=spine_time,
            keys=dict(keys or {}),
            inclusive=inclusive,
            ttl=dict(ttl or {}),
            full_feature_names=full_feature_names,
            candidates=tuple(candidates),
        )
        statuses = []
        if self.definitions is not None:
            groups = [self.catalog.get(name) for name in _group_names(features) if name in self.catalog.names()]
            statuses = (
                self.definitions.statuses(groups)
                if allow_stale_definitions
                else self.definitions.require_current(groups, "the training set")
            )
        table = self.training_sets.get(resolve_spine(spine), request)
        for message in mixed_history_warnings(statuses, table, spine_time):
            warnings.warn(MixedHistoryWarning(message), stacklevel=2)
        return training_frame(spine, table) if as_pandas else table

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
        self, select: Sequence[str] | None = None, progress: SyncProgress | None = None, *, full: bool = False
    ) -> Iterable[GroupSyncSummary]:
        """Sync the selected (default: all online) groups from the offline store: each entity's values valid
        at this store's `now` (the wall clock unless injected); see featurestore.online.sync. `full`: compare every
        entity with the stored items and repair values whose offline row a backfill removed."""
        if self.offline_reader is None:
            raise ValueError("this FeatureStore has no offline reader; pass offline_reader= to sync")
        stored: dict[str, str] = {}
        if self.definitions is not None:
            names = list(select) if select else [group.name for group in self.catalog if group.online]
            groups = [self.catalog.get(name) for name in names]
            for status in self.definitions.require_current(groups, "featurestore sync"):
                if status.stored is not None:
                    stored[status.group] = status.stored.fingerprint
        overlap = self.settings.online.sync_overlap if self.settings else None
        writers = open_writer_leases(self.settings) if self.settings else None
        return sync(
            self.catalog,
            self.offline_reader,
            self.online_store,
            select=select,
            now=self._now,
            progress=progress,
            full=full,
            writers=writers,
            overlap=overlap if overlap is not None else timedelta(0),
            # The fingerprint that computed the offline rows is part of the online group state: a rebuilt
            # group is rewritten whole by the next sync.
            definitions=lambda group: stored.get(group.name),
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


class MixedHistoryWarning(UserWarning):
    """A training set's spine reaches before a group's mixed-history boundary: those rows' values were
    computed by an older definition of the group."""


def _group_names(features: Sequence[str]) -> list[str]:
    return sorted({reference.partition(":")[0].strip() for reference in features})


def mixed_history_warnings(statuses: Sequence[DefinitionStatus], table: Any, spine_time: str) -> list[str]:
    """For each group with mixed history, a warning when the earliest spine time lies before its boundary."""
    boundaries = [
        (status, status.stored.mixed_before)
        for status in statuses
        if status.state is DefinitionState.MIXED and status.stored and status.stored.mixed_before
    ]
    if not boundaries or spine_time not in table.column_names or table.num_rows == 0:
        return []
    earliest = pc.min(table[spine_time]).as_py()
    if isinstance(earliest, datetime):
        earliest = naive_utc(earliest)
    elif isinstance(earliest, date):
        earliest = datetime.combine(earliest, time())
    else:
        return []
    return [
        f"feature group {status.group}: spine times from {earliest.isoformat(sep=' ')} lie before "
        f"{boundary.isoformat(sep=' ')}, before which its values were computed by an older definition "
        f"({status.describe()})"
        for status, boundary in boundaries
        if boundary is not None and earliest < boundary
    ]
