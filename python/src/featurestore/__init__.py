"""featurestore: the Python side of a dbt-native feature store.

The library's API is here at the root::

    from featurestore import FeatureStore, Settings

    with FeatureStore.from_settings(Settings.from_env()) as store:
        store.get_online_features(["user_engagement:clicks_7d"], [{"user_id": 7}])

The package mirrors the architecture: core/ (contract, settings, errors, codecs), offline/ (one package per
engine: duckdb/, athena/), online/ (sqlite.py, dynamodb/, sync, serving), aws/ (Athena, S3, Glue), demo/,
cli/ and http/ (the command line and the HTTP API over this library); docs/architecture.md has the map.
"""

__version__ = "0.1.0"

from featurestore.core.contract import Feature, FeatureGroup, FeatureRef
from featurestore.core.errors import (
    AthenaSetupError,
    BackfillError,
    ContractError,
    ContractErrors,
    DbtCompileError,
    EntityKeyError,
    FeatureGroupNotOnlineError,
    FeatureStoreError,
    LeaseLostError,
    MaintenanceConfigError,
    ManifestError,
    OfflineStoreError,
    OnlineStoreError,
    QueryTooLongError,
    S3LocationError,
    SettingsError,
    StaleDefinitionError,
    SyncGaveUpError,
    TrainingSetError,
    UnknownFeatureError,
    UnknownFeatureGroupError,
    WriterBusyError,
)
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.core.settings import AthenaSettings, OnlineSettings, Settings
from featurestore.offline import open_offline_store
from featurestore.offline.candidates import Candidate, model_yaml
from featurestore.offline.training_sets import TrainingSetRequest
from featurestore.online import open_online_store
from featurestore.online.serving import OnlineFeatures, ValueStatus
from featurestore.online.sync import GroupSyncSummary
from featurestore.store import FeatureStore, MixedHistoryWarning

__all__ = [
    "AthenaSettings",
    "AthenaSetupError",
    "BackfillError",
    "Candidate",
    "ContractError",
    "ContractErrors",
    "DbtCompileError",
    "EntityKeyError",
    "Feature",
    "FeatureGroup",
    "FeatureGroupCatalog",
    "FeatureGroupNotOnlineError",
    "FeatureRef",
    "FeatureStore",
    "FeatureStoreError",
    "GroupSyncSummary",
    "LeaseLostError",
    "MaintenanceConfigError",
    "ManifestError",
    "MixedHistoryWarning",
    "OfflineStoreError",
    "OnlineFeatures",
    "OnlineSettings",
    "OnlineStoreError",
    "QueryTooLongError",
    "S3LocationError",
    "Settings",
    "SettingsError",
    "StaleDefinitionError",
    "SyncGaveUpError",
    "TrainingSetError",
    "TrainingSetRequest",
    "UnknownFeatureError",
    "UnknownFeatureGroupError",
    "ValueStatus",
    "WriterBusyError",
    "__version__",
    "model_yaml",
    "open_offline_store",
    "open_online_store",
]
