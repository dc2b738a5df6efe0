"""Training sets from a notebook: warm in milliseconds, candidate groups, the spine's types, a moved DuckDB file.

One throwaway project is parsed once (`dbt parse`, for target/manifest.json); a tiny offline store is written
under the local build's relation names. Then:
- the macros rendered without dbt (macro_renderer) give the very SQL dbt compiles, for model groups, candidate
  groups, both methods and the calls that must fail; a stale manifest falls back to dbt;
- a candidate (DataFrame, Arrow, Parquet, table name) is joined exactly as the model group holding the same rows;
- the spine's columns come back with their dtypes, index and time zone;
- a copy of the DuckDB file under another name is read without re-parsing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.local_project import LocalProject, create_feature_tables, in_process_dbt_env, make_local_project

from featurestore.core.dbt_compiler import DbtCompiler
from featurestore.core.errors import DbtCompileError, TrainingSetError
from featurestore.core.macro_renderer import MacroRenderer, NotRenderable
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.core.settings import OnlineSettings
from featurestore.offline.candidates import Candidate, model_yaml
from featurestore.offline.duckdb import DuckDBOfflineStore, LocalTrainingSets
from featurestore.offline.training_sets import TrainingSetRequest
from featurestore.online import open_online_store
from featurestore.store import FeatureStore

pytestmark = [pytest.mark.dbt]

T = dt.datetime(2026, 10, 5, 12, 0)
UTC = dt.UTC
ENGAGEMENT_ROWS = [(1, T - dt.timedelta(hours=1), 3, 0.5), (1, T, 4, None), (2, T - dt.timedelta(days=8), 9, 0.9)]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProject]:
    with in_process_dbt_env(make_local_project(tmp_path_factory.mktemp("notebook") / "project")) as project:
        parsed = project.dbt("parse")
        assert parsed.returncode == 0, parsed.stdout[-2000:]
        project.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(project.duckdb_path)) as connection:
            create_feature_tables(connection)
            connection.executemany("insert into main_features.user_engagement values (?, ?, ?, ?)", ENGAGEMENT_ROWS)
            connection.execute("insert into main_features.article_popularity values (10, ?, 0.125)", [T])
            connection.execute("create schema main_scratch")
            # A candidate kept as a table, with zoned event times (as a Parquet written by pandas would give).
            connection.execute(
                "create table main_scratch.dwell (user_id bigint, effective_at timestamptz, dwell_7d double)"
            )
            connection.execute(
                "insert into main_scratch.dwell values (1, ?, 42.0)", [(T - dt.timedelta(hours=2)).replace(tzinfo=UTC)]
            )
        yield project


def _renderer(project: LocalProject) -> MacroRenderer:
    return MacroRenderer(project.root, project.manifest_path(), "duckdb", profiles_dir=project.root / ".dbt")


@pytest.fixture(scope="module")
def compiler(project: LocalProject) -> DbtCompiler:
    return DbtCompiler(project.root, target="local", profiles_dir=project.root / ".dbt", renderer=_renderer(project))


@pytest.fixture(scope="module")
def local(project: LocalProject, compiler: DbtCompiler) -> LocalTrainingSets:
    catalog = FeatureGroupCatalog.from_manifest_path(project.manifest_path())
    return LocalTrainingSets(project.duckdb_path, compiler, catalog)


# ---------------------------------------------------------------------------------------------------------------
# The macros without dbt


def _call(groups: list[dict[str, object]], **options: object) -> str:
    arguments = ", ".join(f"{name}={json.dumps(value)}" for name, value in options.items())
    return (
        "{{ featurestore.point_in_time_join(spine='spine', spine_time='shown_at', "
        f"feature_groups={json.dumps(groups)}, spine_columns=['viewer_id', 'article_id', 'shown_at'], {arguments}) }}}}"
    )


CANDIDATE = {
    "relation": "featurestore_candidate_0_dwell",
    "entity": "user_id",
    "event_time": "effective_at",
    "ttl": "2d",
    "columns": ["user_id", "effective_at", "dwell_7d"],
}
CALLS = {
    "asof": _call(
        [
            {"group": "user_engagement", "features": ["clicks_7d", "ctr_24h"], "keys": {"user_id": "viewer_id"}},
            {"group": "article_popularity", "features": {"ctr_1h": "article_ctr"}, "prefix": "a_", "ttl": "36h"},
        ],
        time_bounds=["2026-10-01 00:00:00", "2026-10-05 12:00:00"],
    ),
    "window_strict": _call(
        [{"group": "user_engagement", "features": ["clicks_7d"], "keys": {"user_id": "viewer_id"}, "alias": "u"}],
        inclusive=False,
        method="window",
    ),
    "candidate": _call(
        [
            {"group": "user_engagement", "features": ["clicks_7d"], "keys": {"user_id": "viewer_id"}},
            {"group": "dwell", "features": ["dwell_7d"], "keys": {"user_id": "viewer_id"}, "candidate": CANDIDATE},
        ],
        time_bounds=["2026-10-01 00:00:00+02:00", "2026-10-05 12:00:00Z"],
    ),
}
BAD_CALLS = {
    "unknown_feature": (
        _call([{"group": "user_engagement", "features": ["clicks_99d"], "keys": {"user_id": "viewer_id"}}]),
        "'clicks_99d' is not a feature of 'user_engagement'",
    ),
    "unknown_group": (
        _call([{"group": "stg_news__articles", "features": ["category"]}]),
        "'stg_news__articles' is not a feature group",
    ),
    "candidate_bad_ttl": (
        _call([{"group": "dwell", "features": ["dwell_7d"], "candidate": {**CANDIDATE, "ttl": "7 days"}}]),
        'ttl "7 days" is not a duration',
    ),
    "candidate_missing_entity_column": (
        _call([{"group": "dwell", "features": ["dwell_7d"], "candidate": {**CANDIDATE, "entity": "viewer"}}]),
        "'viewer' is not a column of featurestore_candidate_0_dwell",
    ),
    "candidate_unknown_feature": (
        _call([{"group": "dwell", "features": ["dwell_30d"], "candidate": CANDIDATE}]),
        "'dwell_30d' is not a feature of 'dwell'; its features: dwell_7d",
    ),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_the_renderer_gives_the_sql_dbt_compiles(compiler: DbtCompiler, project: LocalProject, name: str) -> None:
    assert _renderer(project).render(CALLS[name]) == compiler.compile_with_dbt(CALLS[name])


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_the_renderer_fails_as_dbt_does(compiler: DbtCompiler, project: LocalProject, name: str) -> None:
    call, message = BAD_CALLS[name]
    for compile_ in (_renderer(project).render, compiler.compile_with_dbt):
        with pytest.raises(DbtCompileError) as raised:
            compile_(call)
        assert message in " ".join(str(raised.value).split()), compile_


def test_a_stale_or_foreign_manifest_falls_back_to_dbt(project: LocalProject, tmp_path: Path) -> None:
    call = CALLS["asof"]
    athena = MacroRenderer(project.root, project.manifest_path(), "athena")
    with pytest.raises(NotRenderable, match="parsed for duckdb, not athena"):
        athena.render(call)
    renderer = _renderer(project)
    contract = project.root / "models" / "feature_groups" / "user_engagement.yml"
    parsed_at = project.manifest_path().stat().st_mtime
    os.utime(contract, (parsed_at + 5, parsed_at + 5))  # edited after the last parse
    try:
        with pytest.raises(NotRenderable, match=r"user_engagement\.yml changed after the last parse"):
            renderer.render(call)
        compiler = DbtCompiler(project.root, target="local", profiles_dir=project.root / ".dbt", renderer=renderer)
        assert compiler.compile(call) == compiler.compile_with_dbt(call)
        assert compiler.last_fallback_reason and "changed after the last parse" in compiler.last_fallback_reason
    finally:
        os.utime(contract, (parsed_at - 5, parsed_at - 5))


def test_dbt_keeps_its_own_partial_parse_state(compiler: DbtCompiler, project: LocalProject) -> None:
    """The in-process parse never touches target/partial_parse.msgpack, which the user's dbt calls use."""
    compiler.manifest()
    assert (project.root / "target" / "featurestore_dbt" / "local" / "partial_parse.msgpack").is_file()
    user_state = project.target_path / "partial_parse.msgpack"
    before = user_state.stat().st_mtime_ns if user_state.exists() else None
    DbtCompiler(project.root, target="local", profiles_dir=project.root / ".dbt").manifest()
    assert (user_state.stat().st_mtime_ns if user_state.exists() else None) == before


# ---------------------------------------------------------------------------------------------------------------
# Candidate groups


SPINE = pa.table(
    {
        "viewer_id": pa.array([1, 1, 2, None, 1], pa.int64()),
        "article_id": pa.array([10, 10, 10, 10, 11], pa.int64()),
        "shown_at": pa.array([T, T + dt.timedelta(minutes=30), T, T, T - dt.timedelta(minutes=30)], pa.timestamp("us")),
    }
)
ENGAGEMENT = pa.table(
    {
        "user_id": pa.array([row[0] for row in ENGAGEMENT_ROWS], pa.int64()),
        "effective_at": pa.array([row[1] for row in ENGAGEMENT_ROWS], pa.timestamp("us")),
        "clicks_7d": pa.array([row[2] for row in ENGAGEMENT_ROWS], pa.int64()),
        "ctr_24h": pa.array([row[3] for row in ENGAGEMENT_ROWS], pa.float64()),
    }
)


def _request(features: list[str], candidates: list[Candidate] = (), **options: object) -> TrainingSetRequest:
    return TrainingSetRequest(
        features=features,
        spine_time="shown_at",
        keys={name: {"user_id": "viewer_id"} for name in {feature.partition(":")[0] for feature in features}},
        candidates=tuple(candidates),
        **options,  # type: ignore[arg-type]
    )


def _copy(data: object, **contract: object) -> Candidate:
    return Candidate(
        "engagement_copy",
        data,
        entity=contract.get("entity", "user_id"),  # type: ignore[arg-type]
        event_time="effective_at",
        ttl=contract.get("ttl", "7d"),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("form", ["arrow", "pandas_zoned", "parquet", "table_name"])
@pytest.mark.parametrize("inclusive", [True, False])
def test_a_candidate_is_joined_as_the_model_group_with_the_same_rows(
    local: LocalTrainingSets, project: LocalProject, tmp_path: Path, form: str, inclusive: bool
) -> None:
    if form == "arrow":
        data: object = ENGAGEMENT
    elif form == "pandas_zoned":  # the same instants, written in Tokyo time
        frame = ENGAGEMENT.to_pandas()
        frame["effective_at"] = frame["effective_at"].dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo")
        data = frame
    elif form == "parquet":
        data = tmp_path / "engagement.parquet"
        pq.write_table(ENGAGEMENT, data)
    else:
        data = "main_features.user_engagement"
    features = ["clicks_7d", "ctr_24h"]
    model = local.get(SPINE, _request([f"user_engagement:{name}" for name in features], inclusive=inclusive))
    candidate = local.get(
        SPINE, _request([f"engagement_copy:{name}" for name in features], [_copy(data)], inclusive=inclusive)
    )
    assert candidate.column_names == [
        *SPINE.column_names,
        "engagement_copy__clicks_7d",
        "engagement_copy__ctr_24h",
        "engagement_copy_effective_at",
    ]
    assert candidate.rename_columns(model.column_names).equals(model)
    # Row by row, against hand-computed values (inclusive: the row stamped at T is used at T).
    assert candidate["engagement_copy__clicks_7d"].to_pylist() == (
        [4, 4, None, None, 3] if inclusive else [3, 4, None, None, 3]
    )


def test_with_and_without_a_candidate_in_one_notebook(local: LocalTrainingSets) -> None:
    """The analyst's comparison: the same spine, model features alone and with a zoned candidate table."""
    dwell = Candidate("dwell", "main_scratch.dwell", entity="user_id", event_time="effective_at", ttl="1d")
    without = local.get(SPINE, _request(["user_engagement:clicks_7d"]))
    with_candidate = local.get(
        SPINE, TrainingSetRequest(["user_engagement:clicks_7d", "dwell:dwell_7d"], "shown_at",
                                  keys={"user_engagement": {"user_id": "viewer_id"}, "dwell": {"user_id": "viewer_id"}},
                                  candidates=(dwell,))
    )  # fmt: skip
    assert with_candidate.select(without.column_names).equals(without)
    assert with_candidate["dwell__dwell_7d"].to_pylist() == [42.0, 42.0, None, None, 42.0]
    assert with_candidate["dwell_effective_at"].to_pylist()[0] == T - dt.timedelta(hours=2)  # zone-less UTC


def test_a_candidate_ttl_is_its_own(local: LocalTrainingSets) -> None:
    short = local.get(SPINE, _request(["engagement_copy:clicks_7d"], [_copy(ENGAGEMENT, ttl="20m")]))
    # 30 minutes after the row stamped at T: older than 20 minutes.
    assert short["engagement_copy__clicks_7d"].to_pylist() == [4, None, None, None, None]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: _copy(ENGAGEMENT, ttl="7 days"), "candidate 'engagement_copy': '7 days' is not a duration"),
        (lambda: _copy(ENGAGEMENT, entity=[]), "entity must be a column name"),
        (lambda: Candidate("my-feature", ENGAGEMENT, "user_id", "effective_at", "1d"), "not a plain SQL identifier"),
        (lambda: _copy("main; drop table x"), "neither a Parquet path"),
    ],
)
def test_a_malformed_candidate_is_refused(make: object, message: str) -> None:
    with pytest.raises(TrainingSetError, match=message):
        make()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("candidates", "features", "message"),
    [
        ([_copy(ENGAGEMENT, entity="viewer_id")], ["engagement_copy:clicks_7d"], "entity column 'viewer_id' is not"),
        (
            [_copy(ENGAGEMENT.drop_columns(["effective_at"]))],
            ["engagement_copy:clicks_7d"],
            "event_time 'effective_at'",
        ),
        (
            [_copy(ENGAGEMENT.set_column(1, "effective_at", pa.array(["x"] * 3)))],
            ["engagement_copy:clicks_7d"],
            "must be a timestamp column",
        ),
        ([_copy(ENGAGEMENT)], ["engagement_copy:clicks_30d"], "'clicks_30d' is not a feature of 'engagement_copy'"),
        ([_copy(ENGAGEMENT), _copy(ENGAGEMENT)], ["engagement_copy:clicks_7d"], "two candidates are named"),
        (
            [Candidate("user_engagement", ENGAGEMENT, "user_id", "effective_at", "1d")],
            ["user_engagement:clicks_7d"],
            "has the name of a feature group",
        ),
        ([_copy("main_scratch.nope")], ["engagement_copy:clicks_7d"], "cannot read the table 'main_scratch.nope'"),
    ],
)
def test_candidate_errors_name_the_culprit(
    local: LocalTrainingSets, candidates: list[Candidate], features: list[str], message: str
) -> None:
    with pytest.raises(TrainingSetError, match=message):
        local.get(SPINE, _request(features, candidates))


def test_model_yaml_is_a_start_for_the_candidates_model() -> None:
    text = model_yaml(_copy(ENGAGEMENT), owner="recsys")
    assert "      meta:\n        feature_group:\n          entity: [user_id]\n" in text
    assert "          event_time: effective_at\n" in text and "          ttl: 7d\n" in text
    assert "      - name: clicks_7d\n        data_type: bigint\n" in text
    assert "      - name: effective_at\n        data_type: timestamp\n" in text


# ---------------------------------------------------------------------------------------------------------------
# The spine's columns come back as they went in


def test_spine_dtypes_index_and_time_zone_come_back(
    project: LocalProject, local: LocalTrainingSets, tmp_path: Path
) -> None:
    spine = pd.DataFrame(
        {
            "viewer_id": pd.array([1, None, 2], dtype="Int64"),
            "surface": pd.Categorical(["home", "feed", "home"]),
            "note": pd.array(["a", None, "c"], dtype="string"),
            "shown_at": pd.to_datetime([T, T, T]).tz_localize("UTC").tz_convert("Asia/Tokyo"),
        },
        index=pd.Index([7, 3, 5], name="impression"),
    )
    store = FeatureStore(
        local.catalog, open_online_store(OnlineSettings(sqlite_path=tmp_path / "o.sqlite")), training_sets=local
    )
    with store:
        frame = store.get_training_set(
            spine, ["user_engagement:clicks_7d"], spine_time="shown_at",
            keys={"user_engagement": {"user_id": "viewer_id"}}, as_pandas=True,
        )  # fmt: skip
        table = store.get_training_set(
            spine, ["user_engagement:clicks_7d"], spine_time="shown_at",
            keys={"user_engagement": {"user_id": "viewer_id"}},
        )  # fmt: skip
    pd.testing.assert_frame_equal(frame[spine.columns], spine)
    assert frame["user_engagement__clicks_7d"].tolist()[0] == 4 and pd.isna(frame["user_engagement__clicks_7d"].iloc[1])
    # The Arrow result keeps the zone, and the spine's pandas dtypes for a later to_pandas().
    assert table.schema.field("shown_at").type == pa.Schema.from_pandas(spine).field("shown_at").type
    assert table.schema.field("shown_at").type.tz == "Asia/Tokyo"
    back = table.to_pandas()
    assert back["viewer_id"].dtype == "Int64" and back["surface"].dtype == "category"
    assert back["note"].dtype == "string"


def test_a_spine_category_key_and_a_nanosecond_time_join_as_their_values(local: LocalTrainingSets) -> None:
    spine = pd.DataFrame({"viewer_id": pd.Categorical([1, 2]), "shown_at": pd.to_datetime([T, T])})
    table = local.get(spine, _request(["user_engagement:clicks_7d"]))
    assert table["user_engagement__clicks_7d"].to_pylist() == [4, None]


def test_a_feature_named_like_a_spine_column_is_refused(local: LocalTrainingSets) -> None:
    spine = SPINE.append_column("clicks_7d", pa.array([0] * SPINE.num_rows))
    with pytest.raises(TrainingSetError, match="clicks_7d would replace the spine's column"):
        local.get(spine, _request(["user_engagement:clicks_7d"], full_feature_names=False))


# ---------------------------------------------------------------------------------------------------------------
# A moved or renamed DuckDB file


def test_a_renamed_copy_of_the_offline_store_is_read_without_re_parsing(
    project: LocalProject, local: LocalTrainingSets, tmp_path: Path
) -> None:
    copy = tmp_path / "x0.duckdb"
    shutil.copy(project.duckdb_path, copy)
    expected = local.get(SPINE, _request(["user_engagement:clicks_7d"]))
    renamed = LocalTrainingSets(copy, local.compiler, local.catalog)
    assert renamed.get(SPINE, _request(["user_engagement:clicks_7d"])).equals(expected)
    assert local.compiler.last_fallback_reason is None  # rendered from the manifest: no parse
    # `featurestore show` and `sync` read through DuckDBOfflineStore: the same resolution (the tiny store here
    # only has clicks_7d and ctr_24h of the group's features).
    full = local.catalog.get("user_engagement")
    group = dataclasses.replace(full, features=(full.feature("clicks_7d"),))
    assert DuckDBOfflineStore(copy).preview(group, limit=5)["clicks_7d"].to_pylist() == [4, 3, 9]


def test_dbt_parsing_with_the_copy_configured_still_resolves_it(
    project: LocalProject, local: LocalTrainingSets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the renderer dbt parses with FEATURESTORE_DUCKDB_PATH set to the copy, so the SQL names the
    copy's stem ("x1"), not the manifest's "featurestore": the copy is attached under that name."""
    copy = tmp_path / "x1.duckdb"
    shutil.copy(project.duckdb_path, copy)
    monkeypatch.setenv("FEATURESTORE_DUCKDB_PATH", str(copy))
    dbt_only = DbtCompiler(project.root, target="local", profiles_dir=project.root / ".dbt")
    sql = dbt_only.compile(CALLS["window_strict"])
    assert '"x1"."main_features"."user_engagement"' in sql
    renamed = LocalTrainingSets(copy, dbt_only, local.catalog)
    assert renamed.get(SPINE, _request(["user_engagement:clicks_7d"]))["user_engagement__clicks_7d"].to_pylist() == [
        4, 4, None, None, 3,
    ]  # fmt: skip


def test_the_cli_is_warm_and_writes_what_the_api_returns(project: LocalProject, local: LocalTrainingSets) -> None:
    spine_path = project.root / "spine.parquet"
    pq.write_table(SPINE, spine_path)
    out = project.root / "training.parquet"
    result = project.featurestore(
        "training-set", "--spine", str(spine_path), "--spine-time", "shown_at",
        "--features", "user_engagement:clicks_7d", "--key", "user_engagement.user_id=viewer_id", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert pq.read_table(out).equals(local.get(SPINE, _request(["user_engagement:clicks_7d"])))
    assert "compiled by dbt" not in result.stdout + result.stderr  # rendered from the manifest, no parse
    # After a contract edit the CLI says why it needed dbt.
    contract = project.root / "models" / "feature_groups" / "user_engagement.yml"
    parsed_at = project.manifest_path().stat().st_mtime
    os.utime(contract, (parsed_at + 5, parsed_at + 5))
    try:
        stale = project.featurestore(
            "training-set", "--spine", str(spine_path), "--spine-time", "shown_at",
            "--features", "user_engagement:clicks_7d", "--key", "user_engagement.user_id=viewer_id",
        )  # fmt: skip
    finally:
        os.utime(contract, (parsed_at - 5, parsed_at - 5))
    assert stale.returncode == 0, stale.stderr
    assert "compiled by dbt" in stale.stderr and "user_engagement.yml changed after the last parse" in stale.stderr


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Los_Angeles"])
def test_the_cli_gives_the_same_training_set_in_any_local_time_zone(
    project: LocalProject, local: LocalTrainingSets, zone: str
) -> None:
    """A process whose local zone is not UTC (TZ; DuckDB takes its session zone from it) and a spine whose times
    carry a zone: the same rows as in UTC, and the spine's zone kept."""
    zoned = SPINE.set_column(2, "shown_at", SPINE["shown_at"].cast(pa.timestamp("us", tz="UTC")))
    zoned = zoned.set_column(2, "shown_at", zoned["shown_at"].cast(pa.timestamp("us", tz="Asia/Tokyo")))
    spine_path = project.root / "zoned_spine.parquet"
    pq.write_table(zoned, spine_path)
    out = project.root / f"training_{zone.replace('/', '_')}.parquet"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "featurestore"), "training-set", "--spine", str(spine_path),
            "--spine-time", "shown_at", "--features", "user_engagement:clicks_7d,user_engagement:ctr_24h",
            "--key", "user_engagement.user_id=viewer_id", "--out", str(out), "--project-dir", str(project.root),
        ],
        cwd=project.root, env={**project.env, "TZ": zone}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = local.get(SPINE, _request(["user_engagement:clicks_7d", "user_engagement:ctr_24h"]))
    training = pq.read_table(out)
    assert training.schema.field("shown_at").type == pa.timestamp("us", tz="Asia/Tokyo")
    assert training.drop_columns(["shown_at"]).equals(expected.drop_columns(["shown_at"]))
