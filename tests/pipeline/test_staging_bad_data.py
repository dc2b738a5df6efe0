"""Bad raw values never stop the pipeline: every raw row is staged or rejected with a reason, and counted.
A raw file whose column changed type does stop it, naming the file (docs/athena.md, "Bad raw data").

Hand-written hostile rows and hypothesis-generated batches of random rows are written beside small generated
demo data, then one `dbt build` (a first build) runs staging, the audit, the group that reads dwell times and
their data tests, including `assert_rejection_audit_counts_every_raw_row`. One build for all the bad rows
keeps the module at a single build: a dbt build per hypothesis example would cost minutes each.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from support.local_project import LocalProject, make_local_project

from featurestore.demo.data import DemoDataConfig, generate_demo_data

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


def _write(
    project: LocalProject,
    table: str,
    rows: Sequence[dict[str, Any]],
    schema: pa.Schema,
    name: str,
) -> None:
    folder = project.root / "raw" / table / f"dt={DAY}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(list(rows), schema=schema), folder / name)


# Staging (with the seed its tests check against), the audit and the one group that reads dwell times, with
# the data tests of these models only (cautious: not a test of an unselected group). Unit tests read no raw data.
BUILD_SELECTION = (
    "--select",
    "category_taxonomy",
    "path:models/staging",
    "path:models/audit",
    "user_engagement",
)


def _build(project: LocalProject) -> tuple[bool, str]:
    result = project.dbt(
        "build", *BUILD_SELECTION, "--indirect-selection", "cautious", "--exclude", "resource_type:unit_test"
    )
    return result.returncode == 0, result.stdout[-6000:]


def _outcomes(project: LocalProject, table: str) -> dict[str, int]:
    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        rows = connection.execute(
            "select outcome, raw_rows from main_audit.audit_staging_rejections where source_table = ?",
            [table],
        ).fetchall()
    return {outcome: int(count) for outcome, count in rows}


def _raw_rows(project: LocalProject, table: str) -> int:
    files = sorted((project.root / "raw" / table).rglob("*.parquet"))
    return sum(pq.read_metadata(path).num_rows for path in files)


BAD_DWELLS = {
    "nan": math.nan,
    "inf": math.inf,
    "-inf": -math.inf,
    "huge": 1e16,
    "negative": -5.0,
    "day+1": 86401.0,
}


def _bad_reactions() -> dict[str, dict[str, Any]]:
    """Hand-written hostile reactions, by the outcome each must get (`kept`: staged)."""
    rows = {f"rx-bad-{name}": ("out_of_range", {"dwell_seconds": value}) for name, value in BAD_DWELLS.items()}
    rows["rx-bad-1970"] = (
        "out_of_range",
        {
            "reacted_at": dt.datetime(1970, 1, 1),
            "ingested_at": dt.datetime(1970, 1, 1, 0, 1),
        },
    )
    rows["rx-bad-9999"] = (
        "out_of_range",
        {
            "reacted_at": dt.datetime(9999, 12, 31),
            "ingested_at": dt.datetime(9999, 12, 31),
        },
    )
    rows["rx-" + "x" * 300] = ("string_too_long", {})
    rows["rx-bad-null-time"] = ("null_timestamp", {"reacted_at": None})
    rows["rx-good-edge"] = ("kept", {"dwell_seconds": 86400.0})
    return {
        reaction_id: {"outcome": outcome, "row": _reaction(reaction_id, **changes)}
        for reaction_id, (outcome, changes) in rows.items()
    }


# The fuzz: random raw rows, hostile in every column, many per example (a dbt build per example is slow).

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)  # any unicode, NUL included
IDS = st.one_of(st.none(), TEXT, st.from_regex(r"\Ax-[0-9]{1,4}\Z"))
INTEGERS = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=0, max_value=40),
)
TIMES = st.one_of(
    st.none(),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.datetimes(min_value=dt.datetime(2026, 10, 1), max_value=dt.datetime(2026, 10, 3)),
)
FLOATS = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0, max_value=2000),
)
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


FUZZ_BATCHES = 25


def _write_fuzz_batches(project: LocalProject) -> None:
    """Hypothesis as a generator: each example is one batch of random rows written as its own raw file.
    A failure of the single build below is not shrunk; the build log names the model and row."""
    batch = iter(range(10**6))

    @settings(
        max_examples=FUZZ_BATCHES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        reactions=st.lists(reaction_rows(), min_size=1, max_size=40),
        impressions=st.lists(impression_rows(), min_size=1, max_size=40),
    )
    def write(reactions: list[dict[str, Any]], impressions: list[dict[str, Any]]) -> None:
        name = f"zz-fuzz-{next(batch):03d}.parquet"
        _write(project, "reactions", reactions, REACTION_SCHEMA, name)
        _write(project, "impressions", impressions, IMPRESSION_SCHEMA, name)

    write()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> LocalProject:
    project = make_local_project(tmp_path_factory.mktemp("staging-bad-data") / "project")
    generate_demo_data(DEMO_DATA, project.root / "raw")
    return project


@pytest.fixture(scope="module")
def built(project: LocalProject) -> LocalProject:
    """The demo data plus the hand-written bad rows and the fuzz batches, built once."""
    _write(
        project,
        "reactions",
        [bad["row"] for bad in _bad_reactions().values()],
        REACTION_SCHEMA,
        BAD_FILE,
    )
    _write_fuzz_batches(project)
    ok, log = _build(project)
    assert ok, f"dbt build failed on bad raw rows:\n{log}"
    return project


@pytest.mark.dbt
@pytest.mark.slow
def test_bad_measures_long_ids_and_odd_times_are_rejected_with_their_reason_and_do_not_stop_the_groups(
    built: LocalProject,
) -> None:
    """Before the base views checked ranges, a NaN/inf/huge dwell passed staging and then failed
    user_engagement's `cast(round(dwell_seconds * 1000) as bigint)` on every later run."""
    bad = _bad_reactions()
    with duckdb.connect(str(built.duckdb_path), read_only=True) as connection:
        reasons = dict(
            connection.execute(
                "select reaction_id, coalesce(rejection_reason, 'kept') from main_staging.base_news__reactions"
                " where list_contains(?, reaction_id)",
                [list(bad)],
            ).fetchall()
        )
        staged = connection.execute(
            "select reaction_id, dwell_seconds from main_staging.stg_news__reactions"
            " where list_contains(?, reaction_id)",
            [list(bad)],
        ).fetchall()
        (engagement_rows,) = connection.execute("select count(*) from main_features.user_engagement").fetchone() or (0,)
    assert reasons == {reaction_id: row["outcome"] for reaction_id, row in bad.items()}
    assert staged == [("rx-good-edge", 86400.0)]
    assert engagement_rows > 0


@pytest.mark.dbt
@pytest.mark.slow
def test_every_raw_row_of_the_random_batches_is_counted_once_and_no_out_of_range_value_is_staged(
    built: LocalProject,
) -> None:
    for table in ("reactions", "impressions"):
        outcomes = _outcomes(built, table)
        # Every raw row once: the audit's total is the raw row count (the dbt test also checks kept = staged).
        assert sum(outcomes.values()) == _raw_rows(built, table), (table, outcomes)
    with duckdb.connect(str(built.duckdb_path), read_only=True) as connection:
        (kept_bad,) = connection.execute(
            "select count(*) from main_staging.stg_news__reactions where not dwell_seconds between 0 and 86400"
            " or reacted_at < timestamp '2000-01-01' or reacted_at >= timestamp '2100-01-01'"
            " or length(reaction_id) > 256"
        ).fetchone() or (None,)
    assert kept_bad == 0


@pytest.mark.dbt
@pytest.mark.slow
def test_a_raw_file_whose_user_id_turned_to_text_stops_staging_and_is_named(
    built: LocalProject,
) -> None:
    """As on Athena (HIVE_BAD_DATA naming the file): the base views cannot see a value the engine refuses
    to read, so the file must be fixed or removed by the ingestion, and nothing is staged from it."""
    text_file = built.root / "raw" / "reactions" / f"dt={DAY}" / "zz-text-user.parquet"
    rows = [
        _reaction("rx-text-abc", user_id="abc"),
        _reaction("rx-text-7", user_id="7"),
    ]
    _write(built, "reactions", rows, TEXT_USER_REACTION_SCHEMA, text_file.name)
    try:
        result = built.dbt("run", "--select", "stg_news__reactions", "--full-refresh")
    finally:
        text_file.unlink()
    assert result.returncode != 0
    assert str(text_file) in result.stdout, result.stdout[-4000:]
    assert 'column "user_id"' in result.stdout, result.stdout[-4000:]
