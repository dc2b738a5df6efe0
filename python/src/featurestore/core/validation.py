"""Contract checks before any SQL runs (`featurestore validate`): every problem of every model at once.

1. The contract itself (core/contract.check_feature_group): required fields, types, descriptions, the
   unique key of hand-written incremental groups, `computed_at` of online groups.
2. The model's output against its declaration: every declared column must be returned by the model's SQL.
   Declarative groups are checked by dbt when it compiles them (macros/feature_group_columns_check.sql);
   for a hand-written group the columns are read from its compiled SQL in the manifest (core/output_columns.py,
   no query). Where the SQL alone does not tell (a `*` over a table), the local target runs a zero-row
   query of it on DuckDB (free); the Athena target does not (every Athena query is billed, 10 MB at
   least, and the Python side of a sync should not start queries of its own to check a contract), and the
   group is listed as not checked.

`featurestore validate` first has dbt compile the feature groups (no model runs), so the manifest is
current and holds their compiled SQL; a compile error (e.g. a declarative group's [undeclared_output]) is
reported with the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from featurestore.core.contract import BOOKKEEPING_COLUMNS, check_feature_group, contract_of
from featurestore.core.errors import ContractError
from featurestore.core.output_columns import output_columns

# The columns a compiled query returns, from running it with zero rows; None when it cannot run.
Probe = Callable[[str], "list[str] | None"]


@dataclass
class ValidationReport:
    groups: int = 0
    errors: list[ContractError] = field(default_factory=list)
    # Checks that could not be made, and why.
    notes: list[str] = field(default_factory=list)


def is_declarative(node: Mapping[str, Any]) -> bool:
    contract = contract_of(node)
    return isinstance(contract, Mapping) and ("aggregations" in contract or "attributes" in contract)


def _dialect(manifest: Mapping[str, Any]) -> str:
    return "athena" if (manifest.get("metadata") or {}).get("adapter_type") == "athena" else "duckdb"


def output_problems(
    node: Mapping[str, Any], dialect: str, probe: Probe | None = None
) -> tuple[list[ContractError], str | None]:
    """Declared columns a hand-written group's SQL does not return, and a note when that was not checked."""
    model = str(node.get("name", "?"))
    if is_declarative(node):
        return [], None  # dbt checks them when it compiles the model
    compiled = node.get("compiled_code")
    if not compiled:
        return [], f"{model}: output columns not checked: the manifest has no compiled SQL (run `dbt compile`)"
    returned = output_columns(str(compiled), dialect)
    if returned is None and probe is not None:
        returned = probe(str(compiled))
    if returned is None:
        how = "a zero-row query could not run" if probe is not None else "no zero-row query on this target"
        return [], f"{model}: output columns not checked: its SQL selects `*` from a table ({how})"
    declared = list((node.get("columns") or {}).keys())
    errors = []
    for column in declared:
        if column.lower() in returned:
            continue
        what = "the sync reads it" if column in BOOKKEEPING_COLUMNS else "declared in the YAML"
        errors.append(
            ContractError(
                model,
                f"columns.{column}",
                f"{what}, but the model's SQL does not return it (it returns: {', '.join(returned) or 'nothing'}); "
                "select it in the model, or remove it from the YAML",
            )
        )
    return errors, None


def validate_manifest(manifest: Mapping[str, Any], probe: Probe | None = None) -> ValidationReport:
    """Every contract problem and every declared column missing from a model's output, of every model."""
    report = ValidationReport()
    dialect = _dialect(manifest)
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model" or contract_of(node) is None:
            continue
        report.groups += 1
        _, problems = check_feature_group(node)
        report.errors.extend(problems)
        errors, note = output_problems(node, dialect, probe)
        report.errors.extend(errors)
        if note:
            report.notes.append(note)
    return report


def duckdb_probe(path: Path) -> Probe:
    """A Probe on the local DuckDB file (read-only); None when the file or what the query reads is missing."""

    def probe(sql: str) -> list[str] | None:
        import duckdb

        if not path.is_file():
            return None
        try:
            with duckdb.connect(str(path), read_only=True) as connection:
                description = connection.execute(f"select * from (\n{sql}\n) as fg_probe limit 0").description
        except duckdb.Error:
            return None
        return [str(column[0]).lower() for column in description or []]

    return probe


def compile_feature_groups(project_dir: Path, target: str) -> list[ContractError]:
    """Have dbt parse the project and compile its feature groups (no model runs): the manifest in
    target/ is then current. Returns the compile errors, one per failing model."""
    from dbt.cli.main import dbtRunner  # imported late: dbt takes a second to import

    common = ["--project-dir", str(project_dir), "--target", target, "--log-level", "none"]
    parsed = dbtRunner().invoke(["parse", *common])
    if not parsed.success:
        return [ContractError(project_dir.name, "(dbt parse)", str(parsed.exception or "dbt parse failed"))]
    manifest: Any = parsed.result
    names = sorted(
        node.name
        for node in manifest.nodes.values()
        if node.resource_type == "model" and contract_of(node.to_dict()) is not None
    )
    if not names:
        return []
    compiled = dbtRunner(manifest=manifest).invoke(["compile", "--select", *names, *common])
    if compiled.success:
        return []
    results: Any = compiled.result
    errors = [
        ContractError(str(result.node.name), "(dbt compile)", str(result.message))
        for result in (results.results if results is not None else [])
        if str(result.status) == "error"
    ]
    return errors or [ContractError(project_dir.name, "(dbt compile)", str(compiled.exception or "dbt compile failed"))]
