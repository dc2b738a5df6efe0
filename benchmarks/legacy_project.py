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
