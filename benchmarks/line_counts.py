#!/usr/bin/env python3
"""Lines of SQL plus YAML per feature group, not counting the `columns:` entries (names, types,
descriptions, per-column tests) nor dbt `unit_tests:`: the numbers in docs/feature_groups.md.

    .venv/bin/python benchmarks/line_counts.py
"""

from __future__ import annotations

from pathlib import Path

GROUPS_DIR = Path(__file__).resolve().parents[1] / "models" / "feature_groups"


def yaml_lines(path: Path) -> int:
    counted = 0
    in_columns = False
    for line in path.read_text().splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if stripped == "unit_tests:":
            break  # always last: the dbt unit tests are not counted
        if in_columns and (not stripped or indent >= 6):
            continue  # a column's name, data_type, description, tests
        in_columns = stripped == "columns:"
        counted += 1  # `columns:` itself counts
    return counted


def main() -> None:
    print("| group | SQL | YAML | total |")
    print("| --- | --- | --- | --- |")
    for sql in sorted(GROUPS_DIR.glob("*.sql")):
        sql_lines = len(sql.read_text().splitlines())
        yml = yaml_lines(sql.with_suffix(".yml"))
        print(f"| `{sql.stem}` | {sql_lines} | {yml} | {sql_lines + yml} |")


if __name__ == "__main__":
    main()
