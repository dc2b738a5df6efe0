"""Where things are: the dbt project, its manifest, the local offline store and the online store.

Settings are explicit values built once (from the environment by the CLI); library code takes them
as arguments and never reads the environment behind the caller's back.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from featurestore.core.errors import SettingsError

DEFAULT_DUCKDB_PATH = "target/featurestore.duckdb"
DEFAULT_SQLITE_PATH = "target/online.sqlite"
ONLINE_BACKENDS = ("sqlite", "dynamodb")
# How the DynamoDB store writes (docs/online_store.md): full loads batched and changes conditional, every
# record a conditional PutItem, or BatchWriteItem under a lease.
DYNAMODB_WRITE_MODES = ("auto", "conditional", "batch")


def check_write_mode(mode: str, name: str = "FEATURESTORE_DYNAMODB_WRITE_MODE") -> str:
    """`mode` if it is a DynamoDB write mode; SettingsError naming `name` (the variable or argument) if not."""
    if mode not in DYNAMODB_WRITE_MODES:
        raise SettingsError(name, f"{mode!r} is not one of {', '.join(DYNAMODB_WRITE_MODES)}")
    return mode


@dataclass(frozen=True)
class OnlineSettings:
    """Which online store to use and how to reach it (see docs/online_store.md for every variable)."""

    backend: str = "sqlite"
    sqlite_path: Path = Path(DEFAULT_SQLITE_PATH)
    # One DynamoDB table per group: `<prefix><group>`, plus `<prefix>__sync_markers`.
    dynamodb_table_prefix: str = "featurestore_"
    dynamodb_region: str | None = None
    # Set for dynalite or DynamoDB local; None means AWS itself.
    dynamodb_endpoint_url: str | None = None
    # Concurrent writers (DynamoDB) per sync.
    write_concurrency: int = 16
    # `auto` (full loads batched, changes conditional, under a lease), `conditional` (PutItem per item,
    # newest-wins by DynamoDB) or `batch` (BatchWriteItem under a lease); docs/online_store.md.
    dynamodb_write_mode: str = "auto"
    dynamodb_lease_seconds: float = 30.0
    # Re-read rows whose computed_at is this far behind the marker (for dbt runs that commit out of order).
    sync_overlap: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if self.backend not in ONLINE_BACKENDS:
            raise SettingsError(
                "FEATURESTORE_ONLINE_BACKEND", f"{self.backend!r} is not one of {', '.join(ONLINE_BACKENDS)}"
            )
        check_write_mode(self.dynamodb_write_mode)
        if self.dynamodb_lease_seconds < 5:
            raise SettingsError("FEATURESTORE_DYNAMODB_LEASE_SECONDS", "must be at least 5")
        if self.write_concurrency < 1:
            raise SettingsError("FEATURESTORE_ONLINE_WRITE_CONCURRENCY", "must be at least 1")
        if self.sync_overlap < timedelta(0):
            raise SettingsError("FEATURESTORE_SYNC_OVERLAP_SECONDS", "must not be negative")

    @classmethod
    def from_env(cls, root: Path, env: Mapping[str, str]) -> OnlineSettings:
        sqlite_path = Path(env.get("FEATURESTORE_SQLITE_PATH", DEFAULT_SQLITE_PATH))
        return cls(
            backend=env.get("FEATURESTORE_ONLINE_BACKEND", "sqlite").strip().lower(),
            sqlite_path=sqlite_path if sqlite_path.is_absolute() else root / sqlite_path,
            dynamodb_table_prefix=env.get("FEATURESTORE_DYNAMODB_TABLE_PREFIX", "featurestore_"),
            dynamodb_region=env.get("FEATURESTORE_DYNAMODB_REGION") or env.get("AWS_REGION") or None,
            dynamodb_endpoint_url=env.get("FEATURESTORE_DYNAMODB_ENDPOINT_URL") or None,
            write_concurrency=_int(env, "FEATURESTORE_ONLINE_WRITE_CONCURRENCY", 16),
            dynamodb_write_mode=env.get("FEATURESTORE_DYNAMODB_WRITE_MODE", "auto").strip().lower(),
            dynamodb_lease_seconds=_int(env, "FEATURESTORE_DYNAMODB_LEASE_SECONDS", 30),
            sync_overlap=timedelta(seconds=_int(env, "FEATURESTORE_SYNC_OVERLAP_SECONDS", 0)),
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if text is None or not text.strip():
        return default
    try:
        return int(text)
    except ValueError:
        raise SettingsError(name, f"{text!r} is not a whole number") from None


@dataclass(frozen=True)
class AthenaSettings:
    """Where the Athena offline store is: the same variables (and defaults) as the `athena` target of
    profiles.example.yml. Temporary tables (training-set spines) go to `<s3_data_dir>featurestore-tmp/` and
    the Glue database `<schema>_scratch`."""

    region: str = "us-east-1"
    s3_staging_dir: str = "s3://featurestore-athena-results/"
    s3_data_dir: str = "s3://featurestore-data/"
    schema: str = "featurestore"
    work_group: str = "primary"
    endpoint_url: str | None = None  # only for stand-ins such as moto

    @property
    def scratch_s3_dir(self) -> str:
        return f"{self.s3_data_dir.rstrip('/')}/featurestore-tmp/"

    @property
    def scratch_database(self) -> str:
        return f"{self.schema}_scratch"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AthenaSettings:
        defaults = cls()
        return cls(
            region=env.get("AWS_REGION") or defaults.region,
            s3_staging_dir=env.get("FEATURESTORE_S3_STAGING_DIR") or defaults.s3_staging_dir,
            s3_data_dir=env.get("FEATURESTORE_S3_DATA_DIR") or defaults.s3_data_dir,
            schema=env.get("FEATURESTORE_ATHENA_SCHEMA") or defaults.schema,
            work_group=env.get("FEATURESTORE_ATHENA_WORKGROUP") or defaults.work_group,
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        )


TARGETS = ("local", "athena")


@dataclass(frozen=True)
class Settings:
    project_dir: Path
    manifest_path: Path
    duckdb_path: Path
    online: OnlineSettings = field(default_factory=OnlineSettings)
    # The dbt target whose offline store the library reads (FEATURESTORE_TARGET, as in the profile).
    target: str = "local"
    athena: AthenaSettings = field(default_factory=AthenaSettings)
    # Where dbt (run in-process for training sets) finds profiles.yml; None: dbt's own default (~/.dbt).
    profiles_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise SettingsError("FEATURESTORE_TARGET", f"{self.target!r} is not one of {', '.join(TARGETS)}")

    @classmethod
    def from_env(cls, project_dir: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
        """Resolve paths as profiles.example.yml does: FEATURESTORE_DUCKDB_PATH, relative to the project."""
        env = os.environ if env is None else env
        root = (project_dir or Path.cwd()).resolve()
        duckdb_path = Path(env.get("FEATURESTORE_DUCKDB_PATH", DEFAULT_DUCKDB_PATH))
        return cls(
            project_dir=root,
            manifest_path=root / "target" / "manifest.json",
            duckdb_path=duckdb_path if duckdb_path.is_absolute() else root / duckdb_path,
            online=OnlineSettings.from_env(root, env),
            target=env.get("FEATURESTORE_TARGET", "local").strip().lower() or "local",
            athena=AthenaSettings.from_env(env),
            profiles_dir=_profiles_dir(root, env),
        )


def _profiles_dir(root: Path, env: Mapping[str, str]) -> Path | None:
    """DBT_PROFILES_DIR, else the project's .dbt/ (where the Makefile puts profiles.example.yml), else None."""
    if env.get("DBT_PROFILES_DIR"):
        return Path(env["DBT_PROFILES_DIR"])
    local = root / ".dbt"
    return local if (local / "profiles.yml").is_file() else None
