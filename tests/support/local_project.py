"""A throwaway copy of the dbt project on the local target, driven by the dbt and featurestore CLIs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent


@dataclass(frozen=True)
class LocalProject:
    root: Path
    env: dict[str, str]
    target_path: Path
    duckdb_path: Path

    def dbt(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(BIN_DIR / "dbt"),
                *args,
                "--target",
                "local",
                "--target-path",
                str(self.target_path),
                "--log-path",
                str(self.target_path / "logs"),
            ],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def featurestore(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN_DIR / "featurestore"), *args, "--project-dir", str(self.root)],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def manifest_path(self) -> Path:
        return self.target_path / "manifest.json"


def copy_project(destination: Path) -> Path:
    # A copy, so tests that break a contract or write artifacts never touch the developer's checkout.
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("dbt_project.yml", "profiles.example.yml"):
        shutil.copy(PROJECT_DIR / name, destination / name)
    for folder in ("models", "macros", "seeds", "tests/dbt"):
        shutil.copytree(PROJECT_DIR / folder, destination / folder)
    return destination


def make_local_project(root: Path) -> LocalProject:
    copy_project(root)
    profiles_dir = root / ".dbt"
    profiles_dir.mkdir()
    shutil.copy(root / "profiles.example.yml", profiles_dir / "profiles.yml")
    target_path = root / "target"
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(profiles_dir),
        "FEATURESTORE_RAW_PATH": str(root / "raw"),
        "FEATURESTORE_DUCKDB_PATH": str(target_path / "featurestore.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # rich wraps tables to the terminal; a wide one keeps names whole for the assertions.
        "COLUMNS": "200",
    }
    env.pop("FEATURESTORE_TARGET", None)
    return LocalProject(root, env, target_path, target_path / "featurestore.duckdb")


@contextmanager
def in_process_dbt_env(project: LocalProject) -> Iterator[LocalProject]:
    """os.environ as the project's profile reads it, for dbt invoked in this process (featurestore's
    DbtCompiler): its own DuckDB file and raw data, the local target; restored afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FEATURESTORE_DUCKDB_PATH", str(project.duckdb_path))
        patch.setenv("FEATURESTORE_RAW_PATH", str(project.root / "raw"))
        patch.delenv("FEATURESTORE_TARGET", raising=False)
        yield project
