"""Reading feature groups out of dbt's `target/manifest.json`."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from featurestore.core.contract import FeatureGroup, FeatureRef, check_feature_group, contract_of
from featurestore.core.errors import (
    ContractError,
    ContractErrors,
    ManifestError,
    UnknownFeatureError,
    UnknownFeatureGroupError,
)


def load_manifest(path: Path) -> dict[str, Any]:
    """Load a dbt manifest, with an error that says how to produce one."""
    if not path.is_file():
        raise ManifestError(f"no dbt manifest at {path}; run `dbt parse` (or `make demo`) in the dbt project first")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ManifestError(f"cannot read the dbt manifest at {path}: {error}; rerun `dbt parse`") from error
    if not isinstance(manifest, dict) or "nodes" not in manifest:
        raise ManifestError(f"{path} is not a dbt manifest (no 'nodes'); rerun `dbt parse`")
    return manifest


def feature_groups_from_manifest(manifest: Mapping[str, Any]) -> dict[str, FeatureGroup]:
    """Every enabled model carrying a contract, validated; all contract errors are reported together.

    A hand-written group whose compiled SQL (in a manifest written by dbt compile/run/build) visibly lacks
    a declared column is refused here too, before a sync or lookup queries it (core/validation.py)."""
    from featurestore.core.validation import output_problems

    groups: dict[str, FeatureGroup] = {}
    errors: list[ContractError] = []
    dialect = "athena" if (manifest.get("metadata") or {}).get("adapter_type") == "athena" else "duckdb"
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model" or contract_of(node) is None:
            continue
        group, problems = check_feature_group(node)
        if not problems:
            problems, _ = output_problems(node, dialect)
        if problems or group is None:
            errors.extend(problems)
            continue
        groups[group.name] = group
    if errors:
        raise ContractErrors(errors)
    return dict(sorted(groups.items()))


class FeatureGroupCatalog:
    """The feature groups of one dbt project, looked up by name."""

    def __init__(self, groups: Mapping[str, FeatureGroup]) -> None:
        self._groups = dict(groups)

    @classmethod
    def from_manifest_path(cls, path: Path) -> FeatureGroupCatalog:
        return cls(feature_groups_from_manifest(load_manifest(path)))

    def __iter__(self) -> Iterator[FeatureGroup]:
        return iter(self._groups.values())

    def __len__(self) -> int:
        return len(self._groups)

    def names(self) -> list[str]:
        return list(self._groups)

    def get(self, name: str) -> FeatureGroup:
        try:
            return self._groups[name]
        except KeyError:
            raise UnknownFeatureGroupError(name, self.names()) from None

    def resolve(self, ref: FeatureRef) -> FeatureGroup:
        """The group of `ref`, checked to declare its feature."""
        group = self.get(ref.group)
        if ref.feature not in group.feature_names:
            raise UnknownFeatureError(
                str(ref), f"group '{group.name}' has no such feature; its features: {', '.join(group.feature_names)}"
            )
        return group
