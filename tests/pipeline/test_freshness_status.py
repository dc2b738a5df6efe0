"""`featurestore status` on the real project (generated data, DuckDB) with each online backend: fresh groups
exit 0, a late sync 1, stale, never-built and never-synced groups 2, each named with the command that fixes
it; the table shows newest event time, lag, last run, last sync and the online item count."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import duckdb
import pytest
from support.local_project import LocalProject, make_local_project

from featurestore.demo import DemoDataConfig, generate_demo_data

if TYPE_CHECKING:
    from conftest import Dynalite

pytestmark = [pytest.mark.dbt, pytest.mark.slow]

# The generated data covers 2026-10-01 .. 2026-10-03; "now" for the tests is that last evening.
AS_OF = dt.datetime(2026, 10, 3, 20, 0)
ONLINE_GROUPS = ("user_engagement", "article_popularity")
NEVER_BUILT = "user_category_affinity"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProject]:
    """The project with every group built but user_category_affinity (never built)."""
    project = make_local_project(tmp_path_factory.mktemp("status_project"))
    generate_demo_data(DemoDataConfig(users=120, days=3, seed=5), project.root / "raw")
    result = project.dbt("run", "--select", "+path:models/feature_groups", "--exclude", NEVER_BUILT)
    assert result.returncode == 0, result.stdout[-4000:]
    yield project


@pytest.fixture(params=["sqlite", "dynamodb"])
def project(request: pytest.FixtureRequest, built: LocalProject) -> LocalProject:
    """The built project with a fresh, empty online store of each backend."""
    if request.param == "sqlite":
        env = {**built.env, "FEATURESTORE_SQLITE_PATH": str(built.root / f"online-{uuid.uuid4().hex[:6]}.sqlite")}
    else:
        dynalite: Dynalite = request.getfixturevalue("dynalite")
        env = {
            **built.env,
            "FEATURESTORE_ONLINE_BACKEND": "dynamodb",
            "FEATURESTORE_DYNAMODB_ENDPOINT_URL": dynalite.endpoint_url,
            "FEATURESTORE_DYNAMODB_TABLE_PREFIX": f"st{uuid.uuid4().hex[:6]}_",
            "FEATURESTORE_DYNAMODB_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    return LocalProject(built.root, env, built.target_path, built.duckdb_path)


def _rows(output: str) -> dict[str, list[str]]:
    """The status table's rows: group -> its cells."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells and cells[0]:
            rows[cells[0]] = cells[1:]
    return rows


def _entities(project: LocalProject, relation: str, entity: str, event_time: str, at: dt.datetime) -> int:
    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        (count,) = connection.sql(
            f"select count(distinct {entity}) from {relation} where {event_time} <= timestamp '{at.isoformat(sep=' ')}'"
        ).fetchall()[0]
    return int(count)


def test_status_of_fresh_stale_never_built_and_never_synced_groups(project: LocalProject) -> None:
    select = ",".join(ONLINE_GROUPS)
    # Built but never synced: online groups are errors until the first sync.
    unsynced = project.featurestore("status", "--select", select, "--now", AS_OF.isoformat())
    assert unsynced.returncode == 2, unsynced.stdout + unsynced.stderr
    assert "user_engagement: online but never synced: run `featurestore sync`" in unsynced.stdout

    synced = project.featurestore("sync", "--now", AS_OF.isoformat())
    assert synced.returncode == 0, synced.stderr

    fresh = project.featurestore("status", "--select", select, "--now", AS_OF.isoformat())
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    rows = _rows(fresh.stdout)
    engagement = rows["user_engagement"]
    # status, newest event, lag, warn/error, last run, last change, online, synced as of, sync lag, items
    assert engagement[0] == "ok"
    newest = dt.datetime.fromisoformat(engagement[1])
    assert AS_OF - dt.timedelta(minutes=10) <= newest <= AS_OF
    assert engagement[3] == "1h/6h"  # defaults for the 5-minute grain
    # The last run: the fixture's `dbt run` (run_results.json); the last change: its computed_at, the same run.
    last_run, last_change = (dt.datetime.fromisoformat(cell) for cell in engagement[4:6])
    assert dt.timedelta(0) <= last_run - last_change <= dt.timedelta(minutes=30)
    assert engagement[6] == "yes" and engagement[7] == AS_OF.isoformat(sep=" ", timespec="minutes")
    assert engagement[8] == "0s"
    expected_items = _entities(project, "main_features.user_engagement", "user_id", "effective_at", AS_OF)
    if "FEATURESTORE_ONLINE_BACKEND" in project.env:
        # DynamoDB's ItemCount is an estimate refreshed every few hours (dynalite's stays 0): marked with ~;
        # --exact-counts scans the table.
        assert engagement[9].startswith("~")
        exact = project.featurestore(
            "status", "--select", "user_engagement", "--now", AS_OF.isoformat(), "--exact-counts"
        )
        assert exact.returncode == 0, exact.stdout + exact.stderr
        assert _rows(exact.stdout)["user_engagement"][9] == f"{expected_items:,}"
    else:
        assert engagement[9] == f"{expected_items:,}"
    assert "overall: ok (exit 0)" in fresh.stdout

    # Two hours later without a sync: the offline side still has rows valid then, the sync is late.
    late = project.featurestore(
        "status", "--select", "user_engagement", "--now", (AS_OF + dt.timedelta(hours=2)).isoformat()
    )
    assert late.returncode == 1, late.stdout + late.stderr
    assert "last sync 2h behind now (warn after 1h)" in " ".join(late.stdout.split())

    # Weeks later: every row (also those computed ahead for emptying windows) is far behind.
    stale = project.featurestore("status", "--select", select, "--now", "2026-10-25T00:00:00")
    assert stale.returncode == 2, stale.stdout + stale.stderr
    assert re.search(r"user_engagement: newest event time \d+d( \d+h)? behind now \(error after 6h\)", stale.stdout)

    # Every group: the one never built is an error naming the fix; the offline-only one has no online cells.
    everything = project.featurestore("status", "--now", AS_OF.isoformat())
    assert everything.returncode == 2
    assert f"{NEVER_BUILT}: not built: run `dbt build --select {NEVER_BUILT}`" in " ".join(everything.stdout.split())
    assert _rows(everything.stdout)[NEVER_BUILT][:3] == ["error", "-", "not built"]


def test_status_exits_2_without_a_manifest(tmp_path_factory: pytest.TempPathFactory) -> None:
    empty = make_local_project(tmp_path_factory.mktemp("no_manifest"))
    result = empty.featurestore("status")
    assert result.returncode == 2
    assert "no dbt manifest" in result.stdout
