"""The declarative groups build the same tables as the hand-written ones they replaced (benchmarks/legacy/):
same columns, types and rows (as multisets), ignoring computed_at, on generated data with late and dirty
events. `benchmarks/compare_legacy.py` does the same on any raw data (the demo's result is in
docs/benchmarks.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from featurestore.demo import DemoDataConfig, generate_demo_data

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from compare_legacy import build, compare


@pytest.mark.dbt
@pytest.mark.slow
def test_declarative_groups_equal_the_hand_written_ones(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    generate_demo_data(DemoDataConfig(users=150, days=5, seed=3), raw)
    new_db = build(tmp_path / "declarative", raw, legacy=False)
    legacy_db = build(tmp_path / "legacy", raw, legacy=True)
    results = compare(new_db, legacy_db)
    assert [r.group for r in results] == ["user_engagement", "article_popularity", "user_category_affinity"]
    for result in results:
        assert result.rows > 100, result
        assert result.identical, result
