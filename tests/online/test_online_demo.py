"""The online store on the real dbt project (generated demo data, DuckDB): the merge's update condition
keeps `computed_at` on unchanged rows, so a rerun syncs nothing; a range backfill is read but writes
nothing when its values are unchanged; the CLI syncs and looks up; a sync at a time holds the values
`featurestore show --as-of` that time shows, although the groups hold rows computed for later times."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import duckdb
import pytest
from support.local_project import LocalProject, make_local_project

from featurestore.core.keys import decode_key, encode_key
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.core.settings import OnlineSettings
from featurestore.demo.data import DemoDataConfig, generate_demo_data
from featurestore.offline.duckdb.reader import DuckDBOfflineStore
from featurestore.online.sqlite import SqliteOnlineStore
from featurestore.online.sync import sync

if TYPE_CHECKING:
    from conftest import Dynalite

pytestmark = [pytest.mark.dbt, pytest.mark.slow]

# The tests' "present": the last evening of the generated data (2026-10-01 .. 2026-10-03).
AS_OF = dt.datetime(2026, 10, 3, 20, 0)
# After every row: the values "valid now" are then the latest ones.
AFTER_ALL = dt.datetime(2026, 12, 1)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProject]:
    project = make_local_project(tmp_path_factory.mktemp("online_project"))
    generate_demo_data(DemoDataConfig(users=200, days=3, seed=11), project.root / "raw")
    result = project.dbt("run", "--select", "+path:models/feature_groups")
    assert result.returncode == 0, result.stdout[-4000:]
    yield project


def offline_latest(
    project: LocalProject, relation: str, entity: str, event_time: str, as_of: dt.datetime = AFTER_ALL
) -> dict[str, tuple]:
    """Each entity's row valid at `as_of` (its latest with event time <= as_of)."""
    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        rows = connection.sql(
            f"select {entity}, {event_time}, * exclude ({entity}, {event_time}, computed_at) from {relation} "
            f"where {event_time} <= timestamp '{as_of.isoformat(sep=' ')}' "
            f"qualify row_number() over (partition by {entity} order by {event_time} desc) = 1"
        ).fetchall()
    return {encode_key([row[0]]): (row[1], row[2:]) for row in rows}


def test_sync_reruns_and_backfills_on_the_real_project(project: LocalProject) -> None:
    catalog = FeatureGroupCatalog.from_manifest_path(project.manifest_path())
    reader = DuckDBOfflineStore(project.duckdb_path)
    store = SqliteOnlineStore(project.root / "online.sqlite")
    first = {s.group: s for s in sync(catalog, reader, store, now=lambda: AFTER_ALL)}
    assert set(first) == {g.name for g in catalog if g.online} == {"user_engagement", "article_popularity"}
    for name, summary in first.items():
        group = catalog.get(name)
        expected = offline_latest(project, group.relation_name, group.entity[0], group.event_time)
        assert summary.items_written == len(expected) > 50
        stored = store.read(group, list(expected), list(group.feature_names))
        for (key, (event_time, values)), found in zip(expected.items(), stored, strict=True):
            assert found is not None and found.event_time == event_time, key
            assert tuple(found.values[f] for f in group.feature_names) == values, key

    # An incremental rerun on the same data recomputes hours of rows; none changes, so none is synced.
    rerun = project.dbt("run", "--select", "path:models/feature_groups")
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    again = {s.group: s for s in sync(catalog, reader, store, now=lambda: AFTER_ALL)}
    assert {name: (s.rows_read, s.items_written) for name, s in again.items()} == {
        "user_engagement": (0, 0),
        "article_popularity": (0, 0),
    }

    # A range backfill stamps every row of its range; entities whose latest row lies in it are read again,
    # and skipped online because their values are the same.
    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        (last_day,) = connection.execute(
            "select max(cast(effective_at as date)) from main_features.user_engagement"
        ).fetchone()  # type: ignore[misc]
    start, end = last_day - dt.timedelta(days=1), last_day + dt.timedelta(days=1)
    backfill = project.dbt(
        "run", "--select", "user_engagement", "--vars", f"{{backfill_start: {start}, backfill_end: {end}}}"
    )
    assert backfill.returncode == 0, backfill.stdout[-4000:]
    (after_backfill,) = sync(catalog, reader, store, select=["user_engagement"], now=lambda: AFTER_ALL)
    assert after_backfill.rows_read > 0
    assert (after_backfill.items_written, after_backfill.skipped_stale) == (0, after_backfill.rows_read)
    store.close()


def test_cli_sync_and_lookup(project: LocalProject) -> None:
    env = {**project.env, "FEATURESTORE_SQLITE_PATH": str(project.root / "cli_online.sqlite")}
    cli = LocalProject(project.root, env, project.target_path, project.duckdb_path)
    synced = cli.featurestore("sync", "--now", AFTER_ALL.isoformat())
    assert synced.returncode == 0, synced.stderr
    assert "user_engagement" in synced.stdout and "full" in synced.stdout
    assert OnlineSettings.from_env(project.root, env).sqlite_path.is_file()
    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        (user, at) = connection.execute(
            "select user_id, effective_at from main_features.user_engagement order by effective_at desc limit 1"
        ).fetchone()  # type: ignore[misc]
    shown = cli.featurestore("online", "get", "user_engagement", str(user), "--now", at.isoformat())
    assert shown.returncode == 0, shown.stderr
    assert "PRESENT" in shown.stdout and "NOT_FOUND" not in shown.stdout
    missing = cli.featurestore("online", "get", "user_engagement", "999999", "--now", at.isoformat())
    assert missing.returncode == 0 and "NOT_FOUND" in missing.stdout
    unknown = cli.featurestore("online", "get", "user_engagemnt", "1")
    assert unknown.returncode == 1 and "unknown feature group 'user_engagemnt'" in unknown.stderr
    dropped = cli.featurestore("online", "drop", "user_engagement", "--yes")
    assert dropped.returncode == 0 and "dropped" in dropped.stdout


def test_cli_sync_to_dynamodb_in_the_default_mode(project: LocalProject, dynalite: Dynalite) -> None:
    """The CLI configured for DynamoDB (dynalite) only by environment variables: the default `auto` mode
    loads fully, a `--full` resync writes nothing, and a lookup finds the values."""
    env = {
        **project.env,
        "FEATURESTORE_ONLINE_BACKEND": "dynamodb",
        "FEATURESTORE_DYNAMODB_ENDPOINT_URL": dynalite.endpoint_url,
        "FEATURESTORE_DYNAMODB_TABLE_PREFIX": f"cli{uuid.uuid4().hex[:6]}_",
        "FEATURESTORE_DYNAMODB_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    cli = LocalProject(project.root, env, project.target_path, project.duckdb_path)
    synced = cli.featurestore("sync", "--select", "user_engagement", "--now", AFTER_ALL.isoformat())
    assert synced.returncode == 0, synced.stderr
    catalog = FeatureGroupCatalog.from_manifest_path(project.manifest_path())
    group = catalog.get("user_engagement")
    expected = offline_latest(project, group.relation_name, group.entity[0], group.event_time)
    assert f"full load as of 2026-12-01 00:00:00 UTC, {len(expected):,} rows read, {len(expected):,} items written" in (
        " ".join(synced.stdout.split())
    )
    assert "write units" in synced.stdout

    resynced = cli.featurestore("sync", "--select", "user_engagement", "--full", "--now", AFTER_ALL.isoformat())
    assert resynced.returncode == 0, resynced.stderr
    assert f"0 items written, {len(expected):,} skipped as stale, 0 deleted" in " ".join(resynced.stdout.split())
    key, (event_time, _) = next(iter(expected.items()))
    # Looked up when the entity's row was fresh (at the sync's time it may be past its TTL: EXPIRED).
    shown = cli.featurestore(
        "online", "get", "user_engagement", str(decode_key(key)[0]), "--now", event_time.isoformat()
    )
    assert shown.returncode == 0, shown.stderr
    assert "PRESENT" in shown.stdout and "NOT_FOUND" not in shown.stdout


def _cells(output: str, names: tuple[str, ...]) -> dict[str, list[str]]:
    """The rows of a CLI table whose first cell is one of `names`: name -> the other cells."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells and cells[0] in names:
            rows[cells[0]] = cells[1:]
    return rows


def test_show_as_of_and_online_get_at_the_same_time_agree(project: LocalProject) -> None:
    """`sync --now T` puts online, for every entity, the row `show --as-of T` shows: the groups hold rows
    pre-computed for after T (windows emptying), which a sync of "the latest row" would have served."""
    online_path = project.root / "as_of_online.sqlite"
    env = {**project.env, "FEATURESTORE_SQLITE_PATH": str(online_path)}
    cli = LocalProject(project.root, env, project.target_path, project.duckdb_path)
    synced = cli.featurestore("sync", "--now", AS_OF.isoformat())
    assert synced.returncode == 0, synced.stderr
    assert "as of 2026-10-03 20:00:00 UTC" in synced.stdout

    catalog = FeatureGroupCatalog.from_manifest_path(project.manifest_path())
    store = SqliteOnlineStore(online_path)
    for group in (g for g in catalog if g.online):
        entity = group.entity[0]
        expected = offline_latest(project, group.relation_name, entity, group.event_time, AS_OF)
        every = offline_latest(project, group.relation_name, entity, group.event_time)
        keys = list(every)
        stored = dict(zip(keys, store.read(group, keys, list(group.feature_names)), strict=True))
        assert any(every[key][0] > AS_OF for key in expected), f"{group.name}: no rows after AS_OF to skip"
        for key, found in stored.items():
            if key not in expected:
                assert found is None, f"{group.name} {key}: online, but its rows all lie after {AS_OF}"
                continue
            event_time, values = expected[key]
            assert found is not None and found.event_time == event_time, (group.name, key)
            assert tuple(found.values[f] for f in group.feature_names) == values, (group.name, key)
    store.close()

    # The CLI: a user active that evening, whose newest row (a window's exit) lies after AS_OF.
    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        (user,) = connection.execute(
            "select user_id from main_features.user_engagement group by user_id "
            "having max(effective_at) > ? and max(effective_at) filter (effective_at <= ?) > ? "
            "order by user_id limit 1",
            [AS_OF, AS_OF, AS_OF - dt.timedelta(hours=1)],
        ).fetchone()  # type: ignore[misc]
    group = catalog.get("user_engagement")
    shown = cli.featurestore("show", "user_engagement", str(user), "--as-of", AS_OF.isoformat())
    looked_up = cli.featurestore("online", "get", "user_engagement", str(user), "--now", AS_OF.isoformat())
    assert shown.returncode == 0 and looked_up.returncode == 0, shown.stderr + looked_up.stderr
    offline_cells = _cells(shown.stdout, group.feature_names)
    online_cells = _cells(looked_up.stdout, group.feature_names)
    assert set(offline_cells) == set(online_cells) == set(group.feature_names), shown.stdout + looked_up.stdout
    for name in group.feature_names:
        assert online_cells[name] == [*offline_cells[name], "PRESENT"], name
    assert any(cells[0] not in ("0", "0.000", "∅") for cells in online_cells.values()), looked_up.stdout
