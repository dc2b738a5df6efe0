"""Compiling Jinja SQL (a macro call such as point_in_time_join) in the dbt project's context, in-process.

The project is parsed once per compiler (about 2 s); each compile then reuses a copy of that manifest
(about 0.3 s), so a notebook can ask for training sets repeatedly without paying dbt's start-up each time.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from featurestore.core.errors import DbtCompileError


class DbtCompiler:
    """Compiles SQL with the project's macros, refs and graph, for one dbt target."""

    def __init__(
        self,
        project_dir: Path,
        *,
        target: str | None = None,
        profiles_dir: Path | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        self.project_dir = project_dir
        self._args = ["--project-dir", str(project_dir), "--log-level", "none", "--no-write-json"]
        if target:
            self._args += ["--target", target]
        if profiles_dir:
            self._args += ["--profiles-dir", str(profiles_dir)]
        if variables:
            self._args += ["--vars", json.dumps(dict(variables))]
        self._manifest: Any = None

    def _invoke(self, command: Sequence[str], manifest: Any = None) -> Any:
        from dbt.cli.main import dbtRunner  # imported late: dbt takes a second to import

        result = dbtRunner(manifest=manifest).invoke([*command, *self._args])
        if not result.success:
            detail = str(result.exception) if result.exception else "see dbt's log in the project's logs/ folder"
            raise DbtCompileError(f"dbt {command[0]} failed in {self.project_dir}: {detail}")
        return result.result

    def manifest(self) -> Any:
        if self._manifest is None:
            self._manifest = self._invoke(["parse"])
        return self._manifest

    def compile(self, sql: str) -> str:
        """The compiled SQL of `sql` (Jinja), as `dbt compile --inline` would print it."""
        # A compile adds its inline node to the manifest it is given: each compile gets a fresh copy.
        result = self._invoke(["compile", "--no-populate-cache", "--inline", sql], copy.deepcopy(self.manifest()))
        return str(result.results[0].node.compiled_code)
