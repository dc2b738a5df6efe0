"""Declarative feature groups: every mistake in a declaration is a named compile-time error, raised before
the group's query runs, and a correct declaration compiles.

One `dbt run` of a project copy holding one small group per case (each reads literal rows, so nothing
needs to be built first); dbt reports each node's error in run_results.json.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from support.feature_groups import write_article_group
from support.local_project import LocalProject, make_local_project

EVENTS_SQL = """{% call featurestore.feature_group() %}
select
    cast(1 as bigint) as article_id,
    cast(2 as bigint) as user_id,
    timestamp '2026-10-01 10:00:00' as reacted_at,
    timestamp '2026-10-01 09:58:00' as shown_at,
    'click' as reaction_kind,
    cast(12.5 as double) as dwell_seconds
{% endcall %}
"""

VALID: dict[str, Any] = {
    "timestamp": "reacted_at",
    "windows": ["15m", "1h"],
    "features": [
        {"name": "reactions", "function": "count"},
        {"name": "max_dwell_seconds", "function": "max", "column": "dwell_seconds"},
    ],
    "derived": [{"name": "dwell_per_reaction", "windows": ["1h"], "sql": "max_dwell_seconds / reactions"}],
}


def _with(**changes: Any) -> dict[str, Any]:
    return {**VALID, **changes}


def _features(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [*VALID["features"], *extra]


# case name -> (aggregations declaration, expected error name, text the message must contain)
CASES: dict[str, tuple[dict[str, Any], str, str]] = {
    "unknown_function": (
        _with(features=_features({"name": "typical_dwell", "function": "median", "column": "dwell_seconds"})),
        "unknown_function",
        "'median'",
    ),
    "window_off_grain": (_with(windows=["15m", "7m"]), "window_not_multiple_of_grain", "'7m'"),
    "bad_duration": (_with(windows=["15m", "1y"]), "bad_duration", "'1y'"),
    "missing_measure": (
        _with(features=_features({"name": "words", "function": "sum", "column": "length_words"})),
        "missing_select_column",
        "'length_words'",
    ),
    "unknown_aggregate": (
        _with(derived=[{"name": "ratio", "windows": ["1h"], "sql": "clickz / reactions"}]),
        "unknown_aggregate",
        "'clickz'",
    ),
    "unknown_column_in_single_derived": (
        _with(derived=[{"name": "ratio", "sql": "reactions_15m / reactions_2h"}]),
        "unknown_aggregate",
        "'reactions_2h'",
    ),
    "duplicate_output": (
        _with(features=_features({"name": "reactions", "function": "count", "column": "user_id"})),
        "duplicate_output",
        "'reactions_15m'",
    ),
    "derived_clashes_with_aggregate": (
        _with(derived=[{"name": "reactions", "windows": ["1h"], "sql": "reactions * 2"}]),
        "duplicate_output",
        "'reactions_1h'",
    ),
    "lifetime_sum": (
        _with(features=_features({"name": "all_reactions", "function": "count", "windows": ["lifetime"]})),
        "unsupported_lifetime",
        "'count'",
    ),
    "lifetime_max_of_a_measure": (
        _with(
            features=_features(
                {"name": "longest_dwell", "function": "max", "column": "dwell_seconds", "windows": ["lifetime"]}
            )
        ),
        "unsupported_lifetime",
        "'dwell_seconds'",
    ),
    "anchored_max": (
        _with(anchor="shown_at"),
        "unsupported_anchor",
        "'max'",
    ),
    "unknown_key": (_with(window=["1h"]), "unknown_key", "window"),
    "coarser_key_not_coarser": (
        _with(features=_features({"name": "all", "function": "count", "per": ["user_id"]})),
        "bad_per",
        "user_id",
    ),
}


def _columns(declaration: dict[str, Any]) -> list[str]:
    """The value columns a correct declaration produces (so only the tested mistake is wrong)."""
    columns = []
    for feature in declaration["features"]:
        for window in feature.get("windows", declaration["windows"]):
            columns.append(feature["name"] if window == "lifetime" else f"{feature['name']}_{window}")
    for derived in declaration.get("derived", []):
        windows = derived.get("windows")
        columns += [f"{derived['name']}_{w}" for w in windows] if windows else [derived["name"]]
    return columns


def _write_group(groups: Path, name: str, declaration: dict[str, Any], columns: list[str] | None = None) -> None:
    declared = ["article_id", "effective_at", *(columns if columns is not None else _columns(declaration))]
    contract = [column for column in dict.fromkeys([*declared, "computed_at"]) if not column.endswith("_2h")]
    write_article_group(groups, name, EVENTS_SQL, declaration, [(column, None) for column in contract])


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    project: LocalProject = make_local_project(tmp_path_factory.mktemp("declarations"))
    groups = project.root / "models" / "feature_groups"
    shutil.rmtree(groups)
    groups.mkdir()
    (project.root / "models" / "training_sets").joinpath("impression_click_training_set.sql").unlink()
    (project.root / "models" / "training_sets").joinpath("impression_click_training_set.yml").unlink()
    (project.root / "models" / "training_sets").joinpath("_training_sets__exposures.yml").unlink()
    _write_group(groups, "valid_group", VALID)
    for case, (declaration, _, _) in CASES.items():
        _write_group(groups, f"case_{case}", declaration)
    # The YAML and the declaration disagree: a produced column undocumented, a documented one not produced.
    _write_group(groups, "case_undeclared_output", VALID, columns=_columns(VALID)[1:])
    _write_group(groups, "case_unknown_column", VALID, columns=[*_columns(VALID), "reactions_7d"])
    # `dbt run`, not `compile`: compile stops at the first error, run reports every node.
    result = project.dbt("run", "--select", "path:models/feature_groups")
    assert "valid_group" in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]
    run_results = json.loads((project.target_path / "run_results.json").read_text())
    return {r["unique_id"].rsplit(".", 1)[-1]: r for r in run_results["results"]}


def test_a_correct_declaration_compiles(compiled: dict[str, dict[str, Any]]) -> None:
    assert compiled["valid_group"]["status"] == "success", compiled["valid_group"]["message"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_mistake_is_a_named_error(compiled: dict[str, dict[str, Any]], case: str) -> None:
    _, error, detail = CASES[case]
    result = compiled[f"case_{case}"]
    assert result["status"] == "error", f"{case} compiled"
    assert f"[{error}] feature group case_{case}:" in result["message"], result["message"]
    assert detail in result["message"], result["message"]


@pytest.mark.parametrize(
    ("case", "column"), [("undeclared_output", "reactions_15m"), ("unknown_column", "reactions_7d")]
)
def test_yaml_and_declaration_must_agree(compiled: dict[str, dict[str, Any]], case: str, column: str) -> None:
    result = compiled[f"case_{case}"]
    assert result["status"] == "error"
    assert f"[{case}] feature group case_{case}:" in result["message"], result["message"]
    assert f"'{column}'" in result["message"], result["message"]
