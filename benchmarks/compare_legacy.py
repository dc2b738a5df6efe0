#!/usr/bin/env python3
"""Build the shipped feature groups twice on the same raw data, hand-written (benchmarks/legacy/) and
declarative (models/feature_groups/), and compare the tables column by column, ignoring computed_at.

    .venv/bin/python benchmarks/compare_legacy.py --raw-dir data/raw --work-dir /tmp/fs-compare

Exit status 0 when every table is identical (same columns, types and multiset of rows); the report names
the differences otherwise. tests/pipeline/test_declarative_identical.py runs it on generated data.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from legacy_project import SHIPPED_GROUPS, overlay_legacy

PROJECT_DIR = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Comparison:
    group: str
    rows: int
    legacy_rows: int
    only_new: int
    only_legacy: int
    columns_equal: bool
    detail: str

    @property
    def identical(self) -> bool:
        return self.columns_equal and self.only_new == 0 and self.only_legacy == 0


def build(root: Path, raw_dir: Path, legacy: bool) -> Path:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for name in ("dbt_project.yml", "profiles.example.yml"):
        shutil.copy(PROJECT_DIR / name, root / name)
    for folder in ("models", "macros", "seeds", "tests/dbt"):
        shutil.copytree(PROJECT_DIR / folder, root / folder)
    if legacy:
        overlay_legacy(root)
    (root / ".dbt").mkdir()
    shutil.copy(root / "profiles.example.yml", root / ".dbt" / "profiles.yml")
    database = root / "featurestore.duckdb"
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(root / ".dbt"),
        "FEATURESTORE_RAW_PATH": str(raw_dir.resolve()),
        "FEATURESTORE_DUCKDB_PATH": str(database),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    env.pop("FEATURESTORE_TARGET", None)
    selector = " ".join(f"+{group}" for group in SHIPPED_GROUPS)
    command = [str(Path(sys.executable).parent / "dbt"), "run", "--select", *selector.split(), "--target", "local"]
    command += ["--target-path", str(root / "target"), "--log-path", str(root / "logs")]
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"dbt run failed in {root}:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")
    return database


def compare(new_db: Path, legacy_db: Path) -> list[Comparison]:
    connection = duckdb.connect()
    connection.execute(f"attach '{new_db}' as new_store (read_only)")
    connection.execute(f"attach '{legacy_db}' as legacy_store (read_only)")
    results = []
    for group in SHIPPED_GROUPS:
        schema = connection.execute(
            "select table_schema from information_schema.tables where table_catalog = 'new_store' and table_name = ?",
            [group],
        ).fetchone()[0]
        describe = "select column_name, data_type from information_schema.columns where table_catalog = ? "
        describe += "and table_schema = ? and table_name = ? and column_name <> 'computed_at' order by column_name"
        new_columns = connection.execute(describe, ["new_store", schema, group]).fetchall()
        legacy_columns = connection.execute(describe, ["legacy_store", schema, group]).fetchall()
        names = ", ".join(f'"{name}"' for name, _ in legacy_columns)
        new_table, legacy_table = f"new_store.{schema}.{group}", f"legacy_store.{schema}.{group}"
        rows = connection.execute(f"select count(*) from {new_table}").fetchone()[0]
        legacy_rows = connection.execute(f"select count(*) from {legacy_table}").fetchone()[0]
        detail = "" if new_columns == legacy_columns else f"columns differ: {new_columns} vs {legacy_columns}"
        only_new = only_legacy = -1
        if not detail:
            only_new = connection.execute(
                f"select count(*) from (select {names} from {new_table} except all select {names} from {legacy_table})"
            ).fetchone()[0]
            only_legacy = connection.execute(
                f"select count(*) from (select {names} from {legacy_table} except all select {names} from {new_table})"
            ).fetchone()[0]
        results.append(
            Comparison(group, rows, legacy_rows, only_new, only_legacy, new_columns == legacy_columns, detail)
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-dir", type=Path, required=True, help="raw demo data (featurestore demo-data)")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/fs-compare"))
    args = parser.parse_args(argv)
    new_db = build(args.work_dir / "declarative", args.raw_dir, legacy=False)
    legacy_db = build(args.work_dir / "legacy", args.raw_dir, legacy=True)
    results = compare(new_db, legacy_db)
    print("| group | rows (declarative) | rows (hand-written) | rows only in declarative | rows only in hand-written |")
    print("| --- | --- | --- | --- | --- |")
    for result in results:
        print(
            f"| {result.group} | {result.rows:,} | {result.legacy_rows:,} | {result.only_new} | {result.only_legacy} |"
        )
        if result.detail:
            print(f"  {result.detail}")
    identical = all(result.identical for result in results)
    print("identical (ignoring computed_at)" if identical else "DIFFERENT")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
