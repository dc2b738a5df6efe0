"""The offline store: the feature groups dbt builds, read for the sync, `featurestore show` and training
sets. One package per engine (duckdb/ for the `local` target, athena/), each with the same parts (reader.py,
training_sets.py); engine-neutral SQL in queries.py and training-set logic in training_sets.py; backfill.py
recomputes history with dbt. `open_offline_store` is the one place that names the engines, as
online.open_online_store is for the online backends.
"""

from __future__ import annotations

from collections.abc import Callable

from featurestore.core.dbt_compiler import DbtCompiler
from featurestore.core.macro_renderer import CACHE_FOLDER, MacroRenderer
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.core.settings import Settings
from featurestore.offline.base import OfflineEngine, OfflineReader, OfflineStore, TrainingSetSource


def _open_duckdb(settings: Settings, catalog: FeatureGroupCatalog, compiler: DbtCompiler) -> OfflineEngine:
    from featurestore.offline.duckdb import DuckDBOfflineStore, LocalTrainingSets

    return OfflineEngine(
        DuckDBOfflineStore(settings.duckdb_path), LocalTrainingSets(settings.duckdb_path, compiler, catalog), compiler
    )


def _open_athena(settings: Settings, catalog: FeatureGroupCatalog, compiler: DbtCompiler) -> OfflineEngine:
    from featurestore.offline.athena import AthenaOfflineStore, AthenaTrainingSets

    return OfflineEngine(
        AthenaOfflineStore(settings.athena), AthenaTrainingSets(settings.athena, compiler, catalog), compiler
    )


# dbt target (FEATURESTORE_TARGET) -> engine; core.settings.TARGETS lists the same names.
ENGINES: dict[str, Callable[[Settings, FeatureGroupCatalog, DbtCompiler], OfflineEngine]] = {
    "local": _open_duckdb,
    "athena": _open_athena,
}


def open_offline_store(settings: Settings, catalog: FeatureGroupCatalog) -> OfflineEngine:
    """The offline store of the configured dbt target (FEATURESTORE_TARGET): the local DuckDB file, or Athena."""
    renderer = MacroRenderer(
        settings.project_dir,
        settings.manifest_path,
        adapter_type="athena" if settings.target == "athena" else "duckdb",
        profiles_dir=settings.profiles_dir,
        cache_dir=settings.project_dir / CACHE_FOLDER,
    )
    compiler = DbtCompiler(
        settings.project_dir, target=settings.target, profiles_dir=settings.profiles_dir, renderer=renderer
    )
    return ENGINES[settings.target](settings, catalog, compiler)


__all__ = ["OfflineEngine", "OfflineReader", "OfflineStore", "TrainingSetSource", "open_offline_store"]
