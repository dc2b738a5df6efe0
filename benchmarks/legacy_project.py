"""The hand-written feature groups (benchmarks/legacy/) as a variant of a copied dbt project.

`overlay_legacy(root)` turns a copy of this project into the pre-declarative one: the three shipped groups
as hand-written SQL over their own macros, and no other feature group. Used by compare_legacy.py (identical
tables) and bench_incremental.py --compare-legacy (side-by-side timings).
"""

from __future__ import annotations

import shutil
from pathlib import Path

LEGACY_DIR = Path(__file__).resolve().parent / "legacy"
SHIPPED_GROUPS = ("user_engagement", "article_popularity", "user_category_affinity")


def overlay_legacy(root: Path) -> None:
    groups = root / "models" / "feature_groups"
    for path in groups.iterdir():
        if path.stem not in SHIPPED_GROUPS:
            path.unlink()
    for path in (LEGACY_DIR / "models").iterdir():
        shutil.copy(path, groups / path.name)
    for path in (LEGACY_DIR / "macros").iterdir():
        shutil.copy(path, root / "macros" / path.name)
    # The training set reads only the shipped groups; nothing else in the project names the new ones.


# One group per function, each over the same windows of the same reactions: what a function costs beside a sum.
FUNCTION_GROUPS = {"bench_sum": "sum", "bench_min": "min", "bench_max": "max", "bench_count_distinct": "count_distinct"}
FUNCTION_COLUMNS = {"sum": "dwell_seconds", "min": "dwell_seconds", "max": "dwell_seconds", "count_distinct": "user_id"}
FUNCTION_WINDOWS = ("15m", "1h", "24h")


def overlay_functions(root: Path) -> None:
    groups = root / "models" / "feature_groups"
    for path in groups.iterdir():
        path.unlink()
    training_sets = root / "models" / "training_sets"
    for name in (
        "impression_click_training_set.sql",
        "impression_click_training_set.yml",
        "_training_sets__exposures.yml",
    ):
        (training_sets / name).unlink()
    for group, function in FUNCTION_GROUPS.items():
        (groups / f"{group}.sql").write_text(
            "{% call featurestore.feature_group() %}\n"
            "select article_id, user_id, reacted_at, dwell_seconds from {{ ref('stg_news__reactions') }}\n"
            "{% endcall %}\n"
        )
        value_type = "bigint" if function == "count_distinct" else "double"
        columns = [("article_id", "bigint"), ("effective_at", "timestamp")]
        columns += [(f"value_{w}", value_type) for w in FUNCTION_WINDOWS] + [("computed_at", "timestamp")]
        column_yaml = "".join(
            f"      - {{name: {name}, data_type: {data_type}, description: {name}}}\n" for name, data_type in columns
        )
        (groups / f"{group}.yml").write_text(
            f"models:\n  - name: {group}\n    description: Benchmark of {function}.\n    config:\n      meta:\n"
            "        feature_group:\n          entity: [article_id]\n          event_time: effective_at\n"
            "          online: false\n          ttl: 1d\n          owner: bench\n          aggregations:\n"
            f"            timestamp: reacted_at\n            windows: [{', '.join(FUNCTION_WINDOWS)}]\n"
            f"            features: [{{name: value, function: {function}, column: {FUNCTION_COLUMNS[function]}}}]\n"
            f"    columns:\n{column_yaml}"
        )
