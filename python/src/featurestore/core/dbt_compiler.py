"""Compiling Jinja SQL (a macro call such as point_in_time_join) in the dbt project's context, in-process.

When the last parse's manifest.json is current, the macros are rendered without dbt (macro_renderer.py:
milliseconds, where starting dbt takes seconds). Otherwise dbt parses the project once per compiler and each
compile reuses a copy of that manifest (about 0.3 s). dbt's parse keeps its own partial-parse state in
`target/featurestore_dbt/<target>/`: dbt re-parses everything when the flags or profile of the previous parse
differ (a plain `dbt docs generate` has no --target, `make` passes one), so sharing `target/` with the user's
dbt calls made each side re-parse after the other.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from featurestore.core.errors import DbtCompileError
from featurestore.core.macro_renderer import MacroRenderer, NotRenderable

# Under the project's target path (`make clean` and `dbt clean` remove it).
STATE_FOLDER = Path("target") / "featurestore_dbt"


class DbtCompiler:
    """Compiles SQL with the project's macros, refs and graph, for one dbt target."""

    def __init__(
        self,
        project_dir: Path,
        *,
        target: str | None = None,
        profiles_dir: Path | None = None,
        variables: Mapping[str, Any] | None = None,
        renderer: MacroRenderer | None = None,
    ) -> None:
        self.project_dir = project_dir
        # Without dbt while the manifest is current (only when no --vars are given: they are not in it).
        self.renderer = renderer if not variables else None
        # Why the last compile needed dbt (None: rendered without it); for progress messages and tests.
        self.last_fallback_reason: str | None = None
        state = project_dir / STATE_FOLDER / (target or "default")
        self._args = ["--project-dir", str(project_dir), "--log-level", "none", "--no-write-json"]
        self._args += ["--target-path", str(state), "--log-path", str(state / "logs")]
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
        if self.renderer is not None:
            try:
                rendered = self.renderer.render(sql)
            except NotRenderable as reason:
                self.last_fallback_reason = str(reason)
            else:
                self.last_fallback_reason = None
                return rendered
        return self.compile_with_dbt(sql)

    def compile_with_dbt(self, sql: str) -> str:
        """compile(), always by dbt itself."""
        # A compile adds its inline node to the manifest it is given: each compile gets a fresh copy.
        result = self._invoke(["compile", "--no-populate-cache", "--inline", sql], copy.deepcopy(self.manifest()))
        return str(result.results[0].node.compiled_code)
