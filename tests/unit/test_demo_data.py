"""Tests for featurestore.demo.data: contract schemas, determinism, and the shape of the traffic."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from featurestore.demo.data import (
    ARTICLES_SCHEMA,
    CATEGORIES,
    IMPRESSIONS_SCHEMA,
    PLANS,
    REACTION_KINDS,
    REACTIONS_SCHEMA,
    SURFACES,
    TABLES,
    USERS_SCHEMA,
    DemoDataConfig,
    DemoDataSummary,
    generate_demo_data,
)

SMALL = DemoDataConfig(users=300, days=3, articles_per_day=60)
# Dirt turned up so that its proportions can be checked with meaningful tolerances on a small run.
DIRTY = dataclasses.replace(
    SMALL,
    users=600,
    late_fraction=0.05,
    null_id_fraction=0.05,
    duplicate_fraction=0.05,
    future_fraction=0.05,
)

TS = pa.timestamp("us")
EXPECTED_SCHEMAS = {
    # Spelled out again on purpose: these are the dbt sources' contract, not just "whatever the module says".
    "articles": pa.schema(
        [
            ("id", pa.int64()),
            ("published_at", TS),
            ("category", pa.string()),
            ("publisher", pa.string()),
            ("length_words", pa.int32()),
            ("is_premium", pa.bool_()),
            ("ingested_at", TS),
        ]
    ),
    "users": pa.schema([("id", pa.int64()), ("signed_up_at", TS), ("plan", pa.string()), ("ingested_at", TS)]),
    "impressions": pa.schema(
        [
            ("impression_id", pa.string()),
            ("user_id", pa.int64()),
            ("article_id", pa.int64()),
            ("shown_at", TS),
            ("position", pa.int32()),
            ("surface", pa.string()),
            ("ingested_at", TS),
        ]
    ),
    "reactions": pa.schema(
        [
            ("reaction_id", pa.string()),
            ("impression_id", pa.string()),
            ("user_id", pa.int64()),
            ("article_id", pa.int64()),
            ("reacted_at", TS),
            ("kind", pa.string()),
            ("dwell_seconds", pa.float64()),
            ("ingested_at", TS),
        ]
    ),
}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoDataSummary]:
    out = tmp_path_factory.mktemp("small")
    return out, generate_demo_data(SMALL, out)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dirty")
    generate_demo_data(DIRTY, out)
    return out


@pytest.fixture(scope="module")
def con(small: tuple[Path, DemoDataSummary], dirty: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("set timezone = 'UTC'")
    for prefix, root in (("", small[0]), ("dirty_", dirty)):
        for table in ("articles", "users"):
            connection.execute(
                f"create view {prefix}{table} as select * from read_parquet('{root}/{table}/{table}.parquet')"
            )
        for table in ("impressions", "reactions"):
            connection.execute(
                f"create view {prefix}{table} as select * from "
                f"read_parquet('{root}/{table}/dt=*/*.parquet', hive_partitioning = true)"
            )
    yield connection
    connection.close()


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


def one_row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row


def distinct(con: duckdb.DuckDBPyConnection, column: str, table: str) -> set[str]:
    return {r[0] for r in con.execute(f"select distinct {column} from {table}").fetchall()}


def read_all(root: Path) -> dict[str, pa.Table]:
    return {str(p.relative_to(root)): pq.read_table(p) for p in sorted(root.rglob("*.parquet"))}


# ------------------------------------------------------------------------------------------------
# Layout and contract


def test_constants_are_the_shared_vocabulary() -> None:
    assert CATEGORIES == (
        "politics",
        "business",
        "technology",
        "science",
        "sports",
        "entertainment",
        "world",
        "lifestyle",
        "health",
        "opinion",
    )
    assert SURFACES == ("home_feed", "category_tab", "push", "search", "related")
    assert PLANS == ("free", "premium", "trial")
    assert REACTION_KINDS == ("click", "like", "comment", "share")
    exported = {
        "articles": ARTICLES_SCHEMA,
        "users": USERS_SCHEMA,
        "impressions": IMPRESSIONS_SCHEMA,
        "reactions": REACTIONS_SCHEMA,
    }
    for table, schema in exported.items():
        assert schema.equals(EXPECTED_SCHEMAS[table]), table


def test_file_layout_and_schemas(small: tuple[Path, DemoDataSummary]) -> None:
    root, summary = small
    assert (root / "articles" / "articles.parquet").is_file()
    assert (root / "users" / "users.parquet").is_file()
    files = sorted(root.rglob("*.parquet"))
    assert summary.files == len(files)
    for path in files:
        table = path.relative_to(root).parts[0]
        schema = pq.read_schema(path)
        # The dt partition column lives only in the folder name.
        assert schema.remove_metadata().equals(EXPECTED_SCHEMAS[table]), path
        if table in ("impressions", "reactions"):
            folder = path.parent.name
            assert folder.startswith("dt=")
            datetime.date.fromisoformat(folder.removeprefix("dt="))
            assert path.name == "part-0.parquet"
    for table in ("impressions", "reactions"):
        folders = sorted(p.name for p in (root / table).iterdir())
        # One folder per ingestion day of the period, plus a short tail of late arrivals.
        assert folders[0] == "dt=2026-10-01"
        assert "dt=2026-10-03" in folders
        assert len(folders) <= SMALL.days + 4


def test_summary_counts_match_files(small: tuple[Path, DemoDataSummary]) -> None:
    root, summary = small
    assert summary.out_dir == root
    assert set(summary.rows) == set(TABLES)
    for table in TABLES:
        rows = sum(pq.read_metadata(p).num_rows for p in (root / table).rglob("*.parquet"))
        assert summary.rows[table] == rows
    assert summary.rows["users"] >= SMALL.users
    assert summary.rows["impressions"] > SMALL.users * SMALL.days * 5
    assert summary.seconds > 0


def test_vocabularies_and_ranges(con: duckdb.DuckDBPyConnection) -> None:
    assert distinct(con, "category", "articles") == set(CATEGORIES)
    assert distinct(con, "plan", "users") == set(PLANS)
    assert distinct(con, "surface", "impressions") == set(SURFACES)
    assert distinct(con, "kind", "reactions") == set(REACTION_KINDS)
    lo, hi = one_row(con, "select min(position), max(position) from impressions")
    assert lo == 1
    assert hi <= 30
    publishers = scalar(con, "select count(distinct publisher) from articles")
    assert 20 <= publishers <= 40
    odd = scalar(con, "select count(*) from articles where publisher not similar to 'publisher_[0-9]{3}'")
    assert odd == 0
    # Events only refer to real (non-null) catalog ids.
    assert (
        scalar(
            con,
            "select count(*) from impressions"
            " where article_id not in (select id from articles where id is not null)"
            " or user_id not in (select id from users where id is not null)",
        )
        == 0
    )


def test_articles_cover_backlog_and_period(con: duckdb.DuckDBPyConnection) -> None:
    first, last = one_row(con, "select min(published_at), max(published_at) from articles")
    assert first < datetime.datetime(2026, 10, 1)
    assert last >= datetime.datetime(2026, 10, 3)
    assert last < datetime.datetime(2026, 10, 4)
    # Impressions never show an article before it was published (clock-skewed rows aside).
    shown_early = scalar(
        con,
        "select count(*) from impressions i join articles a on a.id = i.article_id "
        "where i.shown_at < a.published_at and i.shown_at <= i.ingested_at",
    )
    assert shown_early == 0


def test_null_ids_in_catalog_are_extra_rows(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("articles", "users"):
        assert scalar(con, f"select count(*) from dirty_{table} where id is null") > 0
        # Non-null ids stay unique and dense.
        assert scalar(con, f"select count(distinct id) = max(id) from dirty_{table}") is True


# ------------------------------------------------------------------------------------------------
# Determinism and reruns


def test_same_seed_is_identical_and_rerun_is_idempotent(small: tuple[Path, DemoDataSummary], tmp_path: Path) -> None:
    root, _ = small
    generate_demo_data(SMALL, tmp_path)
    first = {p.relative_to(tmp_path): p.read_bytes() for p in sorted(tmp_path.rglob("*.parquet"))}
    assert first == {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}

    # A rerun into the same directory replaces the tables (no stale partitions) and keeps other files.
    (tmp_path / "impressions" / "dt=1999-01-01").mkdir()
    (tmp_path / "impressions" / "dt=1999-01-01" / "part-0.parquet").write_bytes(b"stale")
    (tmp_path / "notes.txt").write_text("keep me")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.parquet").write_bytes(b"not ours")
    generate_demo_data(SMALL, tmp_path)
    second = {p.relative_to(tmp_path): p.read_bytes() for p in sorted(tmp_path.rglob("*.parquet"))}
    assert second.pop(Path("other/x.parquet")) == b"not ours"
    assert second == first
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_different_seed_differs(small: tuple[Path, DemoDataSummary], tmp_path: Path) -> None:
    root, _ = small
    generate_demo_data(dataclasses.replace(SMALL, seed=SMALL.seed + 1), tmp_path)
    ours, theirs = read_all(root), read_all(tmp_path)
    names = ("articles/articles.parquet", "users/users.parquet", "impressions/dt=2026-10-01/part-0.parquet")
    for name in names:
        assert not ours[name].equals(theirs[name]), name


def test_progress_reports_each_day(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    generate_demo_data(
        DemoDataConfig(users=20, days=4, articles_per_day=5),
        tmp_path,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_tiny_config_works(tmp_path: Path) -> None:
    # Degenerate sizes must not trip the vectorized code (empty days, a single article a day).
    summary = generate_demo_data(
        DemoDataConfig(users=1, days=1, articles_per_day=1, impressions_per_user_day=0.5), tmp_path
    )
    assert summary.rows["articles"] >= 4
    assert summary.rows["users"] >= 1


# ------------------------------------------------------------------------------------------------
# Ingestion semantics and dirt


def test_dt_folder_is_ingestion_date(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("impressions", "reactions", "dirty_impressions", "dirty_reactions"):
        assert scalar(con, f"select count(*) from {table} where dt <> cast(ingested_at as date)") == 0, table


def test_late_rows_land_in_later_folder(con: duckdb.DuckDBPyConnection) -> None:
    late = scalar(
        con,
        "select avg((ingested_at - shown_at >= interval 1 hour)::int) from dirty_impressions "
        "where shown_at <= ingested_at",
    )
    assert 0.03 < late < 0.08  # configured 0.05
    assert scalar(con, "select count(*) from dirty_impressions where dt > cast(shown_at as date)") > 0
    # At default settings too, and never more than ~3 days late.
    assert scalar(con, "select count(*) from impressions where dt > cast(shown_at as date)") > 0
    latest = scalar(con, "select max(ingested_at - shown_at) from impressions where shown_at <= ingested_at")
    assert latest <= datetime.timedelta(days=3, minutes=5)
    # Normal latency: seconds to a couple of minutes.
    median = scalar(con, "select median(epoch(ingested_at - shown_at)) from impressions")
    assert 1 < median < 120


def test_future_timestamps(con: duckdb.DuckDBPyConnection) -> None:
    for table, ts in (("dirty_impressions", "shown_at"), ("dirty_reactions", "reacted_at")):
        share = scalar(con, f"select avg(({ts} > ingested_at)::int) from {table}")
        assert 0.03 < share < 0.08, table  # configured 0.05
        ahead = scalar(con, f"select min({ts} - ingested_at) from {table} where {ts} > ingested_at")
        assert ahead >= datetime.timedelta(hours=1)
    assert scalar(con, "select count(*) from impressions where shown_at > ingested_at") > 0


def test_null_ids(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("dirty_impressions", "dirty_reactions"):
        share = scalar(con, f"select avg((user_id is null or article_id is null)::int) from {table}")
        assert 0.03 < share < 0.08, table  # configured 0.05
        assert scalar(con, f"select count(*) from {table} where user_id is null") > 0
        assert scalar(con, f"select count(*) from {table} where article_id is null") > 0
    assert scalar(con, "select count(*) from impressions where user_id is null or article_id is null") > 0


def test_exact_duplicates_and_unique_ids(con: duckdb.DuckDBPyConnection) -> None:
    for table, key in (
        ("dirty_impressions", "impression_id"),
        ("dirty_reactions", "reaction_id"),
        ("impressions", "impression_id"),
    ):
        total = scalar(con, f"select count(*) from {table}")
        distinct_rows = scalar(con, f"select count(*) from (select distinct * from {table})")
        distinct_ids = scalar(con, f"select count(distinct {key}) from {table}")
        assert total > distinct_rows, table
        # Ids repeat only through exact duplicates of whole rows.
        assert distinct_ids == distinct_rows, table
        if table.startswith("dirty_"):
            assert 0.03 < (total - distinct_rows) / distinct_rows < 0.08, table  # configured 0.05


def test_reactions_follow_their_impressions(con: duckdb.DuckDBPyConnection) -> None:
    for prefix in ("", "dirty_"):
        orphans = scalar(
            con,
            f"select count(*) from {prefix}reactions r "
            f"where impression_id not in (select impression_id from {prefix}impressions)",
        )
        assert orphans == 0
        # Clean rows: a reaction comes after its impression, by the same user on the same article.
        bad = scalar(
            con,
            f"""
            with i as (select distinct impression_id, user_id, article_id, shown_at, ingested_at
                       from {prefix}impressions)
            select count(*) from {prefix}reactions r join i using (impression_id)
            where r.reacted_at <= r.ingested_at and i.shown_at <= i.ingested_at
              and (r.reacted_at < i.shown_at or r.user_id <> i.user_id or r.article_id <> i.article_id)
            """,
        )
        assert bad == 0
    # Every engagement on an impression comes with a click on it.
    unclicked = scalar(
        con,
        "select count(*) from reactions r where kind <> 'click' and impression_id not in "
        "(select impression_id from reactions where kind = 'click')",
    )
    assert unclicked == 0


def test_dwell_only_on_clicks(con: duckdb.DuckDBPyConnection) -> None:
    misplaced = "select count(*) from reactions where (kind = 'click') <> (dwell_seconds is not null)"
    assert scalar(con, misplaced) == 0
    median = scalar(con, "select median(dwell_seconds) from reactions where kind = 'click'")
    assert 25 < median < 60
    delay = scalar(
        con,
        "select median(epoch(r.reacted_at - i.shown_at)) from reactions r "
        "join impressions i using (impression_id) where r.kind = 'click'",
    )
    assert 1 < delay < 60


# ------------------------------------------------------------------------------------------------
# Traffic shape


def test_ctr_in_plausible_range(con: duckdb.DuckDBPyConnection) -> None:
    ctr = scalar(
        con,
        "select (select count(distinct impression_id) from reactions where kind = 'click')"
        " / (select count(distinct impression_id) from impressions)",
    )
    assert 0.05 <= ctr <= 0.12
    engagements = scalar(con, "select avg((kind <> 'click')::int) from reactions")
    assert 0.05 < engagements < 0.35


def test_position_bias(con: duckdb.DuckDBPyConnection) -> None:
    top, deep = one_row(
        con,
        """
        with i as (select distinct impression_id, position from impressions),
             c as (select distinct impression_id, 1 as clicked from reactions where kind = 'click')
        select avg(coalesce(clicked, 0)) filter (where position <= 2),
               avg(coalesce(clicked, 0)) filter (where position >= 8)
        from i left join c using (impression_id)
        """,
    )
    assert top > 1.5 * deep


def test_popularity_is_heavy_tailed(con: duckdb.DuckDBPyConnection) -> None:
    share = scalar(
        con,
        """
        with c as (select article_id, count(*) n from impressions where article_id is not null group by 1),
             r as (select n, row_number() over (order by n desc) rk, count(*) over () total from c)
        select sum(n) filter (where rk <= total * 0.1) / sum(n) from r
        """,
    )
    assert share > 0.3


def test_daily_cycle(con: duckdb.DuckDBPyConnection) -> None:
    by_hour = con.execute("select count(*) from impressions group by hour(shown_at)").fetchall()
    counts = [r[0] for r in by_hour]
    assert len(counts) == 24
    assert max(counts) > 5 * min(counts)


def test_activity_is_heterogeneous_and_after_signup(con: duckdb.DuckDBPyConnection) -> None:
    share = scalar(
        con,
        """
        with c as (select user_id, count(*) n from impressions where user_id is not null group by 1),
             r as (select n, row_number() over (order by n desc) rk, count(*) over () total from c)
        select sum(n) filter (where rk <= total * 0.1) / sum(n) from r
        """,
    )
    assert share > 0.2  # the top 10% of users are clearly heavier than average
    before_signup = scalar(
        con,
        "select count(*) from impressions i join users u on u.id = i.user_id "
        "where i.shown_at < u.signed_up_at and i.shown_at <= i.ingested_at",
    )
    assert before_signup == 0
    assert scalar(con, "select count(*) from users where signed_up_at >= '2026-10-01'") > 0


def test_users_prefer_categories(con: duckdb.DuckDBPyConnection) -> None:
    # Category tabs reveal a user's taste independently of clicks; home-feed click-through must be
    # clearly higher on those categories than on the rest (it would be equal if taste did not matter).
    rows = con.execute(
        """
        with i as (select distinct i.impression_id, i.user_id, i.surface, a.category
                   from impressions i join articles a on a.id = i.article_id where i.user_id is not null),
             tabs as (select distinct user_id, category from i where surface = 'category_tab'),
             c as (select distinct impression_id, 1 as clicked from reactions where kind = 'click')
        select t.user_id is not null, avg(coalesce(clicked, 0))
        from i left join tabs t using (user_id, category) left join c using (impression_id)
        where i.surface = 'home_feed' group by 1
        """
    ).fetchall()
    ctr = dict(rows)
    assert ctr[True] > 1.4 * ctr[False]


# ------------------------------------------------------------------------------------------------
# Config validation


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("users", 0),
        ("users", True),
        ("users", 1.5),
        ("days", 0),
        ("articles_per_day", 0),
        ("seed", -1),
        ("start", datetime.datetime(2026, 10, 1, 12)),
        ("start", "2026-10-01"),
        ("impressions_per_user_day", 0.0),
        ("impressions_per_user_day", float("nan")),
        ("late_fraction", -0.01),
        ("null_id_fraction", 0.6),
        ("duplicate_fraction", float("nan")),
        ("future_fraction", 1.0),
    ],
)
def test_config_validation_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        DemoDataConfig(**{field: value})  # type: ignore[arg-type]


def test_config_accepts_edges() -> None:
    DemoDataConfig(users=1, days=1, late_fraction=0.0, future_fraction=0.5, impressions_per_user_day=3)
