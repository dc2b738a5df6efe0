"""Bad raw data never stops the pipeline: every raw row is staged or rejected with a reason, and counted.

Raw files with hostile values are added beside small generated demo data, then the whole project is built
(`dbt build`: staging, audit, feature groups, training sets and every data test, including
`assert_rejection_audit_counts_every_raw_row`). Each build gets a fresh DuckDB file, so it is a first build.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from local_project import LocalProject, make_local_project

from featurestore.demo_data import DemoDataConfig, generate_demo_data

DEMO_DATA = DemoDataConfig(users=30, days=2, seed=5)
# A day of the demo data: the bad rows land in its ingestion partition.
DAY = "2026-10-02"
EVENT_AT = dt.datetime(2026, 10, 2, 9, 30, 0, 123456)
BAD_FILE = "zz-bad.parquet"

REACTION_SCHEMA = pa.schema(
    [
        ("reaction_id", pa.string()),
        ("impression_id", pa.string()),
        ("user_id", pa.int64()),
        ("article_id", pa.int64()),
        ("reacted_at", pa.timestamp("us")),
        ("kind", pa.string()),
        ("dwell_seconds", pa.float64()),
        ("ingested_at", pa.timestamp("us")),
    ]
)
# A changed column type in one file: user_id arrives as text.
TEXT_USER_REACTION_SCHEMA = REACTION_SCHEMA.set(
    REACTION_SCHEMA.get_field_index("user_id"), pa.field("user_id", pa.string())
)
IMPRESSION_SCHEMA = pa.schema(
    [
        ("impression_id", pa.string()),
        ("user_id", pa.int64()),
        ("article_id", pa.int64()),
        ("shown_at", pa.timestamp("us")),
        ("position", pa.int32()),
        ("surface", pa.string()),
        ("ingested_at", pa.timestamp("us")),
    ]
)


def _reaction(reaction_id: str, **changes: Any) -> dict[str, Any]:
    row = {
        "reaction_id": reaction_id,
        "impression_id": f"imp-{reaction_id}",
        "user_id": 1,
        "article_id": 1,
        "reacted_at": EVENT_AT,
        "kind": "click",
        "dwell_seconds": 12.5,
        "ingested_at": EVENT_AT + dt.timedelta(seconds=3),
    }
    row.update(changes)
    return row


def _write(project: LocalProject, table: str, rows: Sequence[dict[str, Any]], schema: pa.Schema, name: str) -> None:
    folder = project.root / "raw" / table / f"dt={DAY}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(list(rows), schema=schema), folder / name)


def _fresh_build(project: LocalProject) -> tuple[bool, str]:
    if project.target_path.exists():
        shutil.rmtree(project.target_path)
    # Unit tests read no raw data: leaving them out keeps each build (one per example) shorter.
    result = project.dbt("build", "--exclude", "resource_type:unit_test")
    return result.returncode == 0, result.stdout[-6000:]


def _outcomes(project: LocalProject, table: str) -> dict[str, int]:
    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        rows = connection.execute(
            "select outcome, raw_rows from main_audit.audit_staging_rejections where source_table = ?", [table]
        ).fetchall()
    return {outcome: int(count) for outcome, count in rows}


def _raw_rows(project: LocalProject, table: str) -> int:
    files = sorted((project.root / "raw" / table).rglob("*.parquet"))
    return sum(pq.read_metadata(path).num_rows for path in files)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> LocalProject:
    project = make_local_project(tmp_path_factory.mktemp("staging-bad-data") / "project")
    generate_demo_data(DEMO_DATA, project.root / "raw")
    return project


@pytest.fixture(scope="module")
def clean_outcomes(project: LocalProject) -> dict[str, dict[str, int]]:
    """The audit of the demo data alone: what the bad rows are counted against."""
    ok, log = _fresh_build(project)
    assert ok, f"dbt build of the clean demo data failed:\n{log}"
    return {table: _outcomes(project, table) for table in ("reactions", "impressions")}


BAD_DWELLS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "huge": 1e16, "negative": -5.0, "day+1": 86401.0}


@pytest.mark.dbt
@pytest.mark.slow
def test_bad_measures_text_ids_and_odd_times_are_rejected_counted_and_do_not_stop_the_groups(
    project: LocalProject, clean_outcomes: dict[str, dict[str, int]]
) -> None:
    """Today's main stops here: a NaN/inf/huge dwell passes staging and then fails user_engagement's
    `cast(round(dwell_seconds * 1000) as bigint)` on every later run; a file with text in user_id stops
    reading the raw table."""
    bad = [_reaction(f"rx-bad-{name}", dwell_seconds=value) for name, value in BAD_DWELLS.items()]
    old_and_far = [
        _reaction("rx-bad-1970", reacted_at=dt.datetime(1970, 1, 1), ingested_at=dt.datetime(1970, 1, 1, 0, 1)),
        _reaction("rx-bad-9999", reacted_at=dt.datetime(9999, 12, 31), ingested_at=dt.datetime(9999, 12, 31)),
    ]
    long_id = [_reaction("rx-" + "x" * 300)]
    null_time = [_reaction("rx-bad-null-time", reacted_at=None)]
    good = [_reaction("rx-good-edge", dwell_seconds=86400.0)]
    _write(project, "reactions", bad + old_and_far + long_id + null_time + good, REACTION_SCHEMA, BAD_FILE)
    text_ids = [
        _reaction("rx-text-abc", user_id="abc"),
        _reaction("rx-text-1.5", user_id="1.5"),
        _reaction("rx-text-7", user_id="7"),
    ]
    _write(project, "reactions", text_ids, TEXT_USER_REACTION_SCHEMA, "zz-text-user.parquet")
    try:
        ok, log = _fresh_build(project)
        assert ok, f"dbt build failed on bad raw rows:\n{log}"
        outcomes = _outcomes(project, "reactions")
        clean = clean_outcomes["reactions"]
        added = {
            outcome: outcomes.get(outcome, 0) - clean.get(outcome, 0) for outcome in outcomes.keys() | clean.keys()
        }
        assert {k: v for k, v in added.items() if v} == {
            "out_of_range": len(BAD_DWELLS) + len(old_and_far),
            "string_too_long": 1,
            "null_timestamp": 1,
            "uncastable_value": 2,  # 'abc' and '1.5'; '7' is an integer written as text
            "kept": 2,
        }
        assert sum(outcomes.values()) == _raw_rows(project, "reactions")
        with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
            staged = dict(
                connection.execute(
                    "select reaction_id, user_id from main_staging.stg_news__reactions where reaction_id like 'rx-%-%'"
                    " and (reaction_id like 'rx-bad%' or reaction_id like 'rx-text%' or reaction_id like 'rx-good%')"
                ).fetchall()
            )
            engagement_rows = connection.execute("select count(*) from main_features.user_engagement").fetchone()
        assert staged == {"rx-good-edge": 1, "rx-text-7": 7}
        assert engagement_rows is not None and engagement_rows[0] > 0
    finally:
        for name in (BAD_FILE, "zz-text-user.parquet"):
            (project.root / "raw" / "reactions" / f"dt={DAY}" / name).unlink(missing_ok=True)


# The fuzz: random raw rows, hostile in every column, many per example (a dbt build per example is slow).

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)  # any unicode, NUL included
IDS = st.one_of(st.none(), TEXT, st.from_regex(r"\Ax-[0-9]{1,4}\Z"))
INTEGERS = st.one_of(
    st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.integers(min_value=0, max_value=40)
)
TIMES = st.one_of(
    st.none(),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.datetimes(min_value=dt.datetime(2026, 10, 1), max_value=dt.datetime(2026, 10, 3)),
)
FLOATS = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.floats(min_value=0, max_value=2000))
KINDS = st.one_of(st.none(), st.sampled_from(["click", "like", "comment", "share"]), TEXT)


@st.composite
def reaction_rows(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "reaction_id": draw(IDS),
        "impression_id": draw(IDS),
        "user_id": draw(INTEGERS),
        "article_id": draw(INTEGERS),
        "reacted_at": draw(TIMES),
        "kind": draw(KINDS),
        "dwell_seconds": draw(FLOATS),
        "ingested_at": draw(TIMES),
    }


@st.composite
def impression_rows(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "impression_id": draw(IDS),
        "user_id": draw(INTEGERS),
        "article_id": draw(INTEGERS),
        "shown_at": draw(TIMES),
        "position": draw(st.one_of(st.none(), st.integers(min_value=-(2**31), max_value=2**31 - 1))),
        "surface": draw(st.one_of(st.none(), TEXT)),
        "ingested_at": draw(TIMES),
    }


def _as_text_user(row: dict[str, Any], text: str | None) -> dict[str, Any]:
    return {**row, "user_id": text}


@pytest.mark.dbt
@pytest.mark.slow
@settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    reactions=st.lists(reaction_rows(), min_size=1, max_size=120),
    text_user_reactions=st.lists(
        st.tuples(reaction_rows(), st.one_of(st.none(), TEXT, st.from_regex(r"\A-?[0-9]{1,25}\Z"))), max_size=30
    ),
    impressions=st.lists(impression_rows(), min_size=1, max_size=120),
)
def test_random_raw_rows_are_each_counted_once_and_the_pipeline_builds(
    project: LocalProject,
    clean_outcomes: dict[str, dict[str, int]],
    reactions: list[dict[str, Any]],
    text_user_reactions: list[tuple[dict[str, Any], str | None]],
    impressions: list[dict[str, Any]],
) -> None:
    _write(project, "reactions", reactions, REACTION_SCHEMA, BAD_FILE)
    _write(
        project,
        "reactions",
        [_as_text_user(r, t) for r, t in text_user_reactions],
        TEXT_USER_REACTION_SCHEMA,
        "zz-text-user.parquet",
    )
    _write(project, "impressions", impressions, IMPRESSION_SCHEMA, BAD_FILE)
    try:
        ok, log = _fresh_build(project)
        assert ok, f"dbt build failed on random raw rows:\n{log}"
        for table in ("reactions", "impressions"):
            outcomes = _outcomes(project, table)
            # Every raw row once: the audit's total is the raw row count (the dbt test also checks kept = staged).
            assert sum(outcomes.values()) == _raw_rows(project, table), (table, outcomes)
        with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
            (kept_bad,) = connection.execute(
                "select count(*) from main_staging.stg_news__reactions where not dwell_seconds between 0 and 86400"
                " or reacted_at < timestamp '2000-01-01' or reacted_at >= timestamp '2100-01-01'"
                " or length(reaction_id) > 256"
            ).fetchone() or (None,)
        assert kept_bad == 0
    finally:
        for table, name in (("reactions", BAD_FILE), ("reactions", "zz-text-user.parquet"), ("impressions", BAD_FILE)):
            (project.root / "raw" / table / f"dt={DAY}" / name).unlink(missing_ok=True)
