"""The two range-backfill scenarios of issue 12, end to end on the demo project, checked against brute-force
recomputations from the staged events as of random times inside and after the range.

1. A definition change: `article_reactions` (15m/1h/24h: count, count_distinct, min, max, last) starts
   counting clicks only; `featurestore backfill --start 2026-10-05 --accept-mixed-history --chunk-days 2`
   (a changed definition is recomputed from a date to the table's end; a closed range is refused, see
   tests/pipeline/test_definition_changes.py). As of any time from 10-05 on the values are the new
   definition's (the issue's probes at the range's start were the old one's), before it the kept (old)
   history's. The end boundary (the kept history resuming after a closed range) is checked per function by
   tests/offline/test_backfill_boundaries.py and by scenario 2.
2. Late data: 10 impressions of one user on 10-05 staged after the history was built; a backfill of
   [10-05, 10-06) of `user_engagement` (which has a lifetime feature, so it runs to the table's end): its
   impressions_24h and impressions_7d as of the following days equal the truth, and `featurestore sync`
   serves the offline values as of the sync's time.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import json
import random
from collections.abc import Iterator, Sequence
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.feature_oracle import Bucketing
from support.local_project import LocalProject, make_local_project

from featurestore.core.keys import encode_key
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.demo.data import DemoDataConfig, generate_demo_data
from featurestore.offline.duckdb.reader import DuckDBOfflineStore
from featurestore.online.sqlite import SqliteOnlineStore
from featurestore.online.sync import sync

START = dt.datetime(2026, 10, 5)
DATA_END = dt.datetime(2026, 10, 9)
GRAIN = 300
REACTION_WINDOWS = {"15m": 900, "1h": 3600, "24h": 86400}
CLICKS_ONLY = "where reaction_kind = 'click'"
# The demo data ingests events up to a few days after their time: the late ones arrive after all of them.
LATE_INGESTION = dt.datetime(2026, 10, 20, 1)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProject]:
    project = make_local_project(tmp_path_factory.mktemp("backfill-scenarios"))
    generate_demo_data(DemoDataConfig(users=150, days=8, seed=12), project.root / "raw")
    result = project.dbt("run", "--select", "+article_reactions", "+user_engagement")
    assert result.returncode == 0, result.stdout[-4000:]
    yield project


def _query(project: LocalProject, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        return connection.sql(sql).fetchall()


def _history(project: LocalProject, relation: str, key: str, columns: Sequence[str]) -> dict[Any, list[Any]]:
    rows = _query(
        project,
        f"select {key}, effective_at, {', '.join(columns)} from {relation} order by 1, 2",
    )
    history: dict[Any, list[Any]] = {}
    for entity, effective_at, *values in rows:
        history.setdefault(entity, []).append((effective_at, dict(zip(columns, values, strict=True))))
    return history


def _as_of(history: dict[Any, list[Any]], entity: Any, moment: dt.datetime) -> dict[str, Any] | None:
    rows = history.get(entity, [])
    index = bisect.bisect_right([at for at, _ in rows], moment) - 1
    return rows[index][1] if index >= 0 else None


# ---------------------------------------------------------------------------------------------------
# Scenario 1: a definition change and a range backfill
# ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Reaction:
    article_id: int
    user_id: int | None
    reacted_at: dt.datetime
    kind: str | None
    dwell: float | None


def _reactions_at(reactions: Sequence[Reaction], moment: dt.datetime) -> dict[str, Any] | None:
    """article_reactions' values as of `moment` from one article's reactions (None before the first)."""
    bucketing = Bucketing(GRAIN, REACTION_WINDOWS)
    now = bucketing.latest_close(moment)
    visible = [r for r in reactions if bucketing.close(r.reacted_at) <= now]
    if not visible:
        return None
    values: dict[str, Any] = {}
    for name, seconds in REACTION_WINDOWS.items():
        inside = [r for r in visible if bucketing.close(r.reacted_at) > now - seconds]
        dwells = [r.dwell for r in inside if r.dwell is not None]
        kinds = [(r.reacted_at, r.kind) for r in inside if r.kind is not None]
        values |= {
            f"reactions_{name}": len(inside),
            f"readers_{name}": len({r.user_id for r in inside if r.user_id is not None}),
            f"min_dwell_seconds_{name}": min(dwells) if dwells else None,
            f"max_dwell_seconds_{name}": max(dwells) if dwells else None,
            f"last_reaction_kind_{name}": max(kinds)[1] if kinds else None,
        }
    return values


def _empty(values: dict[str, Any]) -> bool:
    return all(v in (0, None) for v in values.values())


def test_a_definition_change_backfilled_from_a_date_is_right_as_of_every_time(
    project: LocalProject,
) -> None:
    model = project.root / "models" / "feature_groups" / "article_reactions.sql"
    model.write_text(
        model.read_text().replace(
            "{{ ref('stg_news__reactions') }}",
            "{{ ref('stg_news__reactions') }} " + CLICKS_ONLY,
        )
    )
    backfill = project.featurestore(
        "backfill",
        "article_reactions",
        "--start",
        START.date().isoformat(),
        "--accept-mixed-history",
        "--chunk-days",
        "2",
    )
    assert backfill.returncode == 0, backfill.stdout[-3000:] + backfill.stderr[-3000:]
    output = " ".join(backfill.stdout.split())
    assert "the history before 2026-10-05 00:00:00 stays as the old definition computed it" in output, output[-3000:]

    staged = [
        Reaction(*row)
        for row in _query(
            project,
            "select article_id, user_id, reacted_at, reaction_kind, dwell_seconds "
            "from main_staging.stg_news__reactions where article_id is not null",
        )
    ]
    old: dict[int, list[Reaction]] = {}
    new: dict[int, list[Reaction]] = {}
    for reaction in staged:
        old.setdefault(reaction.article_id, []).append(reaction)
        if reaction.kind == "click":
            new.setdefault(reaction.article_id, []).append(reaction)
    columns = list(_reactions_at(staged[:1], DATA_END) or {})
    history = _history(project, "main_features.article_reactions", "article_id", columns)

    generator = random.Random(12)
    articles = sorted(old)
    wrong = []
    probes = [(START, DATA_END, new)] * 3000 + [(START - dt.timedelta(days=2), START, old)] * 1000
    for first, last, truth in probes:
        article = generator.choice(articles)
        moment = first + dt.timedelta(seconds=generator.randrange(int((last - first).total_seconds())))
        want = _reactions_at(truth.get(article, []), moment)
        got = _as_of(history, article, moment)
        # No event visible, or a row whose windows are all empty: the same features.
        if want is None and (got is None or _empty(got)):
            continue
        if want != got:
            wrong.append((article, moment, want, got))
    assert not wrong, f"{len(wrong)} of {len(probes)} probes wrong, e.g. {wrong[:2]}"


# ---------------------------------------------------------------------------------------------------
# Scenario 2: late data and a backfill of its day
# ---------------------------------------------------------------------------------------------------


def _stage_late_impressions(project: LocalProject, user_id: int, article_id: int) -> None:
    """10 impressions of `user_id` on 10-05, ingested after everything else (a new raw partition)."""
    sample = pq.read_table(next((project.root / "raw" / "impressions").glob("*/*.parquet")))
    rows = [
        {
            **sample.slice(0, 1).to_pylist()[0],
            "impression_id": f"late-{i}",
            "user_id": user_id,
            "article_id": article_id,
            "shown_at": dt.datetime(2026, 10, 5, 12, 3 * i),
            "ingested_at": LATE_INGESTION,
        }
        for i in range(10)
    ]
    folder = project.root / "raw" / "impressions" / f"dt={LATE_INGESTION.date()}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=sample.schema), folder / "late.parquet")
    staged = project.dbt("run", "--select", "stg_news__impressions")
    assert staged.returncode == 0, staged.stdout[-4000:]
    late = "select count(*) from main_staging.stg_news__impressions where impression_id like 'late-%'"
    assert _query(project, late) == [(10,)]


def test_late_data_backfilled_over_its_day_is_right_on_the_following_days(
    project: LocalProject,
) -> None:
    ((user_id, article_id),) = _query(
        project,
        "select user_id, min(article_id) from main_staging.stg_news__impressions where user_id is not null "
        "group by user_id order by count(*) desc limit 1",
    )
    _stage_late_impressions(project, user_id, article_id)
    variables = json.dumps({"backfill_start": "2026-10-05", "backfill_end": "2026-10-06"})
    backfill = project.dbt("run", "--select", "user_engagement", "--vars", variables)
    assert backfill.returncode == 0, backfill.stdout[-4000:]
    assert "extending the range to the table's end because lifetime features (last_active_at)" in " ".join(
        backfill.stdout.split()
    )

    impressions: dict[int, list[dt.datetime]] = {}
    for user, shown_at in _query(
        project,
        "select user_id, shown_at from main_staging.stg_news__impressions where user_id is not null",
    ):
        impressions.setdefault(user, []).append(shown_at)
    bucketing = Bucketing(GRAIN, {"24h": 86400, "7d": 604800})

    def truth(user: int, window: str, moment: dt.datetime) -> int:
        now = bucketing.latest_close(moment)
        seconds = bucketing.windows[window.removeprefix("impressions_")]
        return sum(1 for at in impressions[user] if now - seconds < bucketing.close(at) <= now)

    columns = ["impressions_24h", "impressions_7d"]
    history = _history(project, "main_features.user_engagement", "user_id", columns)
    # The probes (21 and 126 on the old main, for its user), then random users and times.
    checks = [
        (user_id, "impressions_24h", dt.datetime(2026, 10, 6, 6)),
        (user_id, "impressions_7d", dt.datetime(2026, 10, 8, 12)),
    ]
    generator = random.Random(5)
    users = sorted(impressions)
    for probe in range(1000):
        moment = START + dt.timedelta(seconds=generator.randrange(int((DATA_END - START).total_seconds())))
        # A third for the user with the late impressions, the rest for anyone.
        checks.append((user_id if probe % 3 == 0 else generator.choice(users), generator.choice(columns), moment))
    wrong = []
    for user, column, moment in checks:
        got = _as_of(history, user, moment)
        if (got[column] if got else 0) != truth(user, column, moment):
            wrong.append((user, column, moment, truth(user, column, moment), got and got[column]))
    assert not wrong, f"{len(wrong)} of {len(checks)} checks wrong, e.g. {wrong[:3]}"

    # Online: the values a sync serves are the offline rows valid at the sync's time.
    now = dt.datetime(2026, 10, 8, 12)
    catalog = FeatureGroupCatalog.from_manifest_path(project.manifest_path())
    group = catalog.get("user_engagement")
    store = SqliteOnlineStore(project.root / "online.sqlite")
    list(
        sync(
            catalog,
            DuckDBOfflineStore(project.duckdb_path),
            store,
            select=["user_engagement"],
            now=lambda: now,
        )
    )
    features = list(group.feature_names)
    offline = _query(
        project,
        f"select user_id, effective_at, {', '.join(features)} from main_features.user_engagement "
        f"where effective_at <= timestamp '{now}' and effective_at > timestamp '{now - group.ttl}' "
        "qualify row_number() over (partition by user_id order by effective_at desc) = 1",
    )
    keys = [encode_key([row[0]]) for row in offline]
    online = store.read(group, keys, features)
    assert any(row[0] == user_id for row in offline)
    for row, found in zip(offline, online, strict=True):
        assert found is not None, row[0]
        assert (found.event_time, tuple(found.values[f] for f in features)) == (
            row[1],
            tuple(row[2:]),
        ), row[0]
    store.close()
