"""One exception hierarchy; every message says what to fix."""

from __future__ import annotations


class FeatureStoreError(Exception):
    """Base class of every error this package raises on purpose."""


class ManifestError(FeatureStoreError):
    """The dbt manifest is missing or unreadable."""


class ContractError(FeatureStoreError):
    """A model's feature-group contract (`config.meta.feature_group`) is malformed."""

    def __init__(self, model: str, field: str, problem: str) -> None:
        self.model = model
        self.field = field
        self.problem = problem
        super().__init__(f"model '{model}': feature_group.{field}: {problem}")


class ContractErrors(FeatureStoreError):
    """Several contracts are malformed; raised after checking all of them so users fix them in one pass."""

    def __init__(self, errors: list[ContractError]) -> None:
        self.errors = errors
        lines = "\n".join(f"  - {error}" for error in errors)
        super().__init__(f"{len(errors)} feature-group contract error(s):\n{lines}")


class UnknownFeatureGroupError(FeatureStoreError):
    """A feature group name that the manifest does not define."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        choices = ", ".join(sorted(known)) or "none (run `dbt parse` first?)"
        super().__init__(f"unknown feature group '{name}'; known groups: {choices}")


class OfflineStoreError(FeatureStoreError):
    """The offline store (DuckDB file or Athena) cannot be read."""


class QueryTooLongError(OfflineStoreError):
    """A query is longer than Athena accepts."""


class WriterBusyError(FeatureStoreError):
    """Another writer of the model held its lease for longer than this one would wait."""


class MaintenanceConfigError(FeatureStoreError):
    """A model's `config.meta.iceberg_maintenance` is malformed."""

    def __init__(self, model: str, field: str, problem: str) -> None:
        super().__init__(f"model '{model}': config.meta.{field}: {problem}")


class DbtCompileError(FeatureStoreError):
    """dbt could not parse the project or compile a piece of SQL (the message is dbt's)."""


class TrainingSetError(FeatureStoreError):
    """A training-set request (spine, features, keys) is invalid, or its query failed."""


class SettingsError(FeatureStoreError):
    """A configuration value (environment variable or argument) is not valid."""

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        super().__init__(f"{name}: {problem}")


class OnlineStoreError(FeatureStoreError):
    """The online store (sqlite file or DynamoDB) cannot be used as asked."""


class SyncGaveUpError(OnlineStoreError):
    """A sync stopped retrying (throttling, unprocessed items, server errors); its marker was not advanced."""

    def __init__(self, group: str, problem: str) -> None:
        self.group = group
        super().__init__(
            f"sync of feature group '{group}' gave up: {problem}; nothing is lost (its sync marker was not "
            "advanced): rerun `featurestore sync` later, or lower the write concurrency"
        )


class LeaseLostError(OnlineStoreError):
    """Another holder (a sync, an offline writer) took the lease (this one stalled past it); stop writing."""


class BackfillError(FeatureStoreError):
    """A backfill could not be planned or a chunk failed."""


class AthenaSetupError(FeatureStoreError):
    """Raw data cannot be loaded into S3 and Glue, or a report cannot be read."""


class S3LocationError(FeatureStoreError):
    """A value that should be an S3 location (s3://bucket/prefix) is not one."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        super().__init__(f"{uri!r} is not an S3 location like s3://my-bucket/raw/")


class FeatureGroupNotOnlineError(FeatureStoreError):
    """An online operation on a group whose contract says `online: false`."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"feature group '{name}' is not online; set `online: true` under config.meta.feature_group in its "
            "YAML, run `dbt parse` and `featurestore sync`"
        )


class UnknownFeatureError(FeatureStoreError):
    """A feature name that its group does not declare, or a reference not of the form group:feature."""

    def __init__(self, reference: str, problem: str) -> None:
        self.reference = reference
        super().__init__(f"feature '{reference}': {problem}")


class EntityKeyError(FeatureStoreError):
    """An entity row lacks a key column of a requested group, or a key value has the wrong type."""


class StaleDefinitionError(FeatureStoreError):
    """A feature group's stored history was computed by another definition than its current one (its
    fingerprint differs); the message names each group and the command that rebuilds it."""
