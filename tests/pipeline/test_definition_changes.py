"""Changing a feature group's definition (issue 12, scenarios 3 and 4, offline side): the definition fingerprint
stored with the table makes an incremental run of a changed group refuse, naming the fixes; a full refresh or
a backfill with --accept-mixed-history rebuilds it (the latter recording the boundary); `featurestore status`,
training sets and the sync see stale and mixed history; backfill progress is kept per definition; a table
built before fingerprints existed is adopted. One copy of the project, its article_reactions group changed
step by step (the tests run in file order)."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.local_project import LocalProject, in_process_dbt_env, make_local_project

from featurestore.core.dbt_compiler import DbtCompiler
from featurestore.core.definitions import StoredDefinition
from featurestore.core.macro_renderer import MacroRenderer
from featurestore.demo.data import DemoDataConfig, generate_demo_data
from featurestore.offline.definitions import current_fingerprints

pytestmark = [pytest.mark.dbt, pytest.mark.slow]

GROUP = "article_reactions"
TABLE = f"main_features.{GROUP}"
GRAIN = dt.timedelta(minutes=5)
WINDOWS = {"15m": dt.timedelta(minutes=15), "1h": dt.timedelta(hours=1), "24h": dt.timedelta(hours=24)}
MIXED_FROM = dt.datetime(2026, 10, 3)
NOW = "2026-10-04T12:00:00"
SHIPPED_GROUPS = (
    "article_attributes",
    "article_popularity",
    "article_reactions",
    "user_category_affinity",
    "user_engagement",
)


def _sql_path(project: LocalProject) -> Path:
    return project.root / "models" / "feature_groups" / f"{GROUP}.sql"


def _yml_path(project: LocalProject) -> Path:
    return project.root / "models" / "feature_groups" / f"{GROUP}.yml"


def _set_select(project: LocalProject, where: str) -> None:
    """The group's SELECT with a filter (a logic change); '' for the shipped SELECT."""
    sql = _sql_path(project).read_text()
    source = "from {{ ref('stg_news__reactions') }}"
    sql = re.sub(re.escape(source) + r".*\n", source + "\n", sql)
    if where:
        sql = sql.replace(source + "\n", f"{source} {where}\n")
    _sql_path(project).write_text(sql)
    # Parsed now, so that the featurestore commands render fingerprints from the manifest (no dbt start-up).
    parsed = project.dbt("parse")
    assert parsed.returncode == 0, parsed.stdout[-3000:]


def _query(project: LocalProject, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        return connection.sql(sql).fetchall()


def _stored(project: LocalProject) -> StoredDefinition | None:
    ((comment,),) = _query(project, f"select comment from duckdb_tables() where table_name = '{GROUP}'")
    return StoredDefinition.from_comment(comment, GROUP)  # type: ignore[arg-type]


def _columns(project: LocalProject) -> list[str]:
    return [str(row[0]) for row in _query(project, f"select column_name from (describe {TABLE})")]


def _brute_force_counts(
    project: LocalProject, feature: str, keep: str = "true"
) -> dict[tuple[int, dt.datetime], dict[str, int]]:
    """`<feature>_<window>` of every row of the table, recomputed from the staged reactions (the events
    `keep` selects): reactions whose 5-minute bucket lies in [effective_at - window, effective_at)."""
    events: dict[int, list[dt.datetime]] = {}
    for article_id, reacted_at in _query(
        project, f"select article_id, reacted_at from main_staging.stg_news__reactions where {keep}"
    ):
        assert isinstance(reacted_at, dt.datetime)
        bucket = dt.datetime.min + (reacted_at - dt.datetime.min) // GRAIN * GRAIN
        events.setdefault(int(article_id), []).append(bucket)  # type: ignore[call-overload]
    names = ", ".join(f"{feature}_{w}" for w in WINDOWS)
    stored = {}
    for article_id, effective_at, *values in _query(project, f"select article_id, effective_at, {names} from {TABLE}"):
        stored[(int(article_id), effective_at)] = dict(zip(WINDOWS, values, strict=True))  # type: ignore[call-overload]
    expected = {}
    for (article_id, at), _ in stored.items():
        buckets = events.get(article_id, [])
        assert isinstance(at, dt.datetime)
        expected[(article_id, at)] = {w: sum(at - length <= b < at for b in buckets) for w, length in WINDOWS.items()}
    return {key: {"stored": stored[key], "expected": expected[key]} for key in stored}  # type: ignore[misc]


def _mismatches(rows: dict[tuple[int, dt.datetime], dict[str, int]], where: object = None) -> list[object]:
    return [(key, value) for key, value in rows.items() if value["stored"] != value["expected"]]  # type: ignore[index]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProject]:
    project = make_local_project(tmp_path_factory.mktemp("definitions"))
    # Online, so the sync's refusal can be seen (`online` is not part of the fingerprint).
    _yml_path(project).write_text(_yml_path(project).read_text().replace("online: false", "online: true"))
    generate_demo_data(DemoDataConfig(users=120, days=4, seed=5), project.root / "raw")
    result = project.dbt("run", "--select", f"+{GROUP}")
    assert result.returncode == 0, result.stdout[-4000:]
    yield project


def test_python_and_dbt_compute_the_same_fingerprints(project: LocalProject) -> None:
    """One algorithm (the macro): rendered from manifest.json without dbt, compiled by dbt, and stored by the
    build, for every shipped group."""
    with in_process_dbt_env(project):
        renderer = MacroRenderer(project.root, project.manifest_path(), adapter_type="duckdb")
        fast = DbtCompiler(project.root, target="local", profiles_dir=project.root / ".dbt", renderer=renderer)
        rendered = current_fingerprints(fast, SHIPPED_GROUPS)
        assert fast.last_fallback_reason is None
        slow = DbtCompiler(project.root, target="local", profiles_dir=project.root / ".dbt")
        call = ", ".join(f"'{g}': featurestore.feature_group_fingerprint('{g}')" for g in SHIPPED_GROUPS)
        compiled = json.loads(slow.compile_with_dbt("{{ tojson({" + call + "}) }}"))
    assert rendered == compiled
    assert len(set(rendered.values())) == len(SHIPPED_GROUPS)
    stored = _stored(project)
    assert stored is not None and stored.fingerprint == rendered[GROUP]


def test_a_table_without_a_fingerprint_is_adopted_and_whitespace_is_no_change(project: LocalProject) -> None:
    before = _stored(project)
    # Whitespace, a description and the owner: not part of the definition.
    _sql_path(project).write_text(_sql_path(project).read_text().replace("select ", "select\n    ", 1))
    yml = _yml_path(project).read_text()
    yml = yml.replace("owner: recsys-team", "owner: another-team")
    _yml_path(project).write_text(yml.replace("Reactions to each article", "Reactions (any kind) to each article"))
    # A table built before fingerprints existed: no record in its comment.
    with duckdb.connect(str(project.duckdb_path)) as connection:
        connection.execute(f"comment on table {TABLE} is 'built before fingerprints'")
    assert _stored(project) is None
    status = project.featurestore("status", "--now", NOW)
    assert "no definition fingerprint stored" in " ".join(status.stdout.split()), status.stdout[-3000:]

    result = project.dbt("run", "--select", GROUP)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "has no definition fingerprint" in result.stdout and "adopting it" in result.stdout
    assert _stored(project) == before


def test_a_renamed_feature_is_refused_until_a_full_refresh(project: LocalProject) -> None:
    rows_before = _query(project, f"select count(*), max(computed_at) from {TABLE}")
    yml = _yml_path(project).read_text()
    yml = yml.replace("{name: reactions, function: count}", "{name: reaction_count, function: count}")
    yml = re.sub(r"- name: reactions_(15m|1h|24h)\n", r"- name: reaction_count_\1\n", yml)
    _yml_path(project).write_text(yml)

    refused = project.dbt("run", "--select", GROUP)
    assert refused.returncode != 0
    assert f"[definition_changed] feature group {GROUP}" in refused.stdout
    assert f"dbt run -s {GROUP} --full-refresh" in refused.stdout
    assert f"featurestore backfill {GROUP} --start <date> --accept-mixed-history" in refused.stdout
    # Nothing was written: not a row, not a column.
    assert _query(project, f"select count(*), max(computed_at) from {TABLE}") == rows_before
    assert "reactions_1h" in _columns(project) and "reaction_count_1h" not in _columns(project)

    rebuilt = project.dbt("run", "--select", GROUP, "--full-refresh")
    assert rebuilt.returncode == 0, rebuilt.stdout[-4000:]
    columns = _columns(project)
    assert {f"reaction_count_{w}" for w in WINDOWS} <= set(columns)
    assert not [c for c in columns if c.startswith("reactions_")]
    rows = _brute_force_counts(project, "reaction_count")
    assert len(rows) > 1000
    assert _mismatches(rows) == []


def _spine(project: LocalProject, times: list[dt.datetime]) -> Path:
    articles = [int(a) for (a,) in _query(project, f"select distinct article_id from {TABLE} order by 1 limit 20")]
    rng = random.Random(7)
    path = project.root / "spine.parquet"
    pq.write_table(
        pa.table({"article_id": [rng.choice(articles) for _ in times], "label_at": times}),
        path,
    )
    return path


def _training_set(project: LocalProject, spine: Path, *extra: str) -> object:
    return project.featurestore(
        "training-set", "--spine", str(spine), "--spine-time", "label_at",
        "--features", f"{GROUP}:reaction_count_1h", *extra,
    )  # fmt: skip


def test_a_logic_change_is_refused_by_status_training_sets_and_sync(project: LocalProject) -> None:
    _set_select(project, "where reaction_kind = 'click'")
    status = project.featurestore("status", "--now", NOW)
    assert status.returncode == 2
    text = " ".join(status.stdout.split())
    assert f"{GROUP}: definition stale" in text and f"dbt run -s {GROUP} --full-refresh" in text

    spine = _spine(project, [dt.datetime(2026, 10, 2, 12), dt.datetime(2026, 10, 3, 18)])
    refused = _training_set(project, spine)
    assert refused.returncode == 1  # type: ignore[attr-defined]
    message = " ".join(refused.stderr.split())  # type: ignore[attr-defined]
    assert "the training set refused" in message and f"{GROUP}: stale" in message
    assert f"featurestore backfill {GROUP} --start <date> --accept-mixed-history" in message
    allowed = _training_set(project, spine, "--allow-stale-definitions")
    assert allowed.returncode == 0, allowed.stderr  # type: ignore[attr-defined]

    sync = project.featurestore("sync", "--select", GROUP, "--now", NOW)
    assert sync.returncode == 1
    message = " ".join(sync.stderr.split())
    assert "featurestore sync refused" in message and f"dbt run -s {GROUP} --full-refresh" in message

    plain = project.featurestore("backfill", GROUP, "--start", "2026-10-03", "--end", "2026-10-05")
    assert plain.returncode == 1
    assert "--accept-mixed-history" in " ".join(plain.stderr.split())


def test_accepting_mixed_history_keeps_the_old_values_before_the_date(project: LocalProject) -> None:
    old = _query(project, f"select * from {TABLE} where effective_at < '{MIXED_FROM}' order by all")
    backfill = (
        "backfill",
        GROUP,
        "--start",
        MIXED_FROM.date().isoformat(),
        "--accept-mixed-history",
        "--chunk-days",
        "2",
    )
    result = project.featurestore(*backfill)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "recomputed 2 chunk(s) of 2" in result.stdout

    stored = _stored(project)
    assert stored is not None and stored.mixed_before == MIXED_FROM and stored.previous_fingerprint
    # Before the date: exactly the old definition's rows; from it: the new definition's values.
    assert _query(project, f"select * from {TABLE} where effective_at < '{MIXED_FROM}' order by all") == old
    rows = _brute_force_counts(project, "reaction_count", keep="reaction_kind = 'click'")
    new = {key: value for key, value in rows.items() if key[1] >= MIXED_FROM}
    assert len(new) > 100 and _mismatches(new) == []
    before = {key: value for key, value in rows.items() if key[1] < MIXED_FROM}
    assert _mismatches(before), "the old definition counted every reaction kind"

    status = project.featurestore("status", "--now", NOW)
    text = " ".join(status.stdout.split())
    assert f"{GROUP}: definition mixed history: values before 2026-10-03 00:00:00" in text, text[-2000:]
    spine = _spine(project, [dt.datetime(2026, 10, 2, 12), dt.datetime(2026, 10, 3, 18)])
    warned = _training_set(project, spine)
    assert warned.returncode == 0, warned.stderr  # type: ignore[attr-defined]
    assert "lie before 2026-10-03 00:00:00" in " ".join(warned.stderr.split())  # type: ignore[attr-defined]

    # The same command again: nothing left to do. After an edit of the SQL: every chunk again.
    again = project.featurestore(*backfill)
    assert "recomputed 0 chunk(s) of 2" in again.stdout, again.stdout[-2000:]
    _set_select(project, "where reaction_kind in ('click', 'like')")
    edited = project.featurestore(*backfill)
    assert edited.returncode == 0, edited.stdout[-3000:] + edited.stderr[-3000:]
    assert "recomputed 2 chunk(s) of 2" in edited.stdout
    rows = _brute_force_counts(project, "reaction_count", keep="reaction_kind in ('click', 'like')")
    assert _mismatches({key: value for key, value in rows.items() if key[1] >= MIXED_FROM}) == []


def test_a_range_ending_before_the_newest_row_is_refused_under_a_changed_definition(project: LocalProject) -> None:
    _set_select(project, "where reaction_kind = 'like'")
    variables = {"backfill_start": "2026-10-02", "backfill_end": "2026-10-03", "accept_mixed_history": True}
    result = project.dbt("run", "--select", GROUP, "--vars", json.dumps(variables))
    assert result.returncode != 0
    text = " ".join(result.stdout.split())
    assert "[definition_changed]" in text and "is not after the newest row" in text
