"""Where things are: the dbt project, its manifest and the local offline store.

Settings are explicit values built once (from the environment by the CLI); library code takes them
as arguments and never reads the environment behind the caller's back.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DUCKDB_PATH = "target/featurestore.duckdb"


@dataclass(frozen=True)
class Settings:
    project_dir: Path
    manifest_path: Path
    duckdb_path: Path

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
        )
