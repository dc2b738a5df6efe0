"""`featurestore maintain`: the statements it sends to Athena (moto's, which records them and runs nothing)
and the snapshot retention it reads from the models' `config.meta.iceberg_maintenance`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from moto.athena.models import AthenaBackend
from support.local_project import copy_project
from support.online_support import make_group
from test_athena_emitted_sql import sql_problems

from featurestore.core.errors import MaintenanceConfigError
from featurestore.offline.maintenance import (
    MaintenancePolicy,
    files_query,
    maintenance_statements,
    policies,
)

if TYPE_CHECKING:
    from conftest import AthenaEnv, Dbt

FEATURESTORE = Path(sys.executable).parent / "featurestore"
RELATION = '"awsdatacatalog"."featurestore_features"."user_engagement"'


def athena_group() -> Any:
    return dataclasses.replace(make_group("user_engagement"), relation_name=RELATION)


def test_statements_compact_recent_partitions_by_a_literal_and_vacuum() -> None:
    policy = MaintenancePolicy(optimize_days=35, max_snapshot_age_hours=24, min_snapshots_to_keep=2)
    statements = maintenance_statements(athena_group(), policy, dt.date(2026, 12, 2))
    assert statements == [
        "alter table `featurestore_features`.`user_engagement` set tblproperties "
        "('vacuum_max_snapshot_age_seconds'='86400', 'vacuum_min_snapshots_to_keep'='2')",
        f"optimize {RELATION} rewrite data using bin_pack where effective_at >= timestamp '2026-10-28 00:00:00'",
        f"vacuum {RELATION}",
    ]
    assert {sql: sql_problems(sql) for sql in statements} == {sql: [] for sql in statements}
    assert sql_problems(files_query(athena_group())) == []
    assert '"featurestore_features"."user_engagement$files"' in files_query(athena_group())


def test_policies_come_from_the_models_meta_with_clear_errors() -> None:
    group = make_group("g")
    manifest = {"nodes": {group.unique_id: {"config": {"meta": {"iceberg_maintenance": {"optimize_days": 8}}}}}}
    assert policies(manifest, [group]) == {"g": MaintenancePolicy(optimize_days=8)}
    assert policies({"nodes": {}}, [group]) == {"g": MaintenancePolicy()}
    for bad, message in (
        ({"optimize_days": 0}, "optimize_days: must be a whole number of at least 1, got 0"),
        ({"max_snapshot_age_hours": "1d"}, "max_snapshot_age_hours: must be a whole number"),
        ({"retain": 3}, "unknown key"),
    ):
        manifest = {"nodes": {group.unique_id: {"config": {"meta": {"iceberg_maintenance": bad}}}}}
        with pytest.raises(MaintenanceConfigError, match=f"model 'g': config.meta.iceberg_maintenance.*{message}"):
            policies(manifest, [group])


class Recorder:
    """Records the statements moto's Athena receives (its server runs in this process)."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.lock = threading.Lock()

    def wrap(self, original: Callable[..., str]) -> Callable[..., str]:
        def start_query_execution(backend: AthenaBackend, query: str, *args: Any, **kwargs: Any) -> str:
            with self.lock:
                self.statements.append(query.strip())
            return original(backend, query, *args, **kwargs)

        return start_query_execution


@pytest.fixture(scope="module")
def athena_project(athena_dbt: Dbt, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project whose manifest names the Athena relations (`dbt parse --target athena`)."""
    root = copy_project(tmp_path_factory.mktemp("maintain") / "project")
    work = root.parent / "parse"
    result = athena_dbt.run(["parse", "--target", "athena"], work, project_dir=root)
    assert result.ok, result.describe()
    (root / "target").mkdir(exist_ok=True)
    shutil.copy(work / "target" / "manifest.json", root / "target" / "manifest.json")
    return root


@pytest.mark.aws
@pytest.mark.dbt
def test_maintain_sends_each_group_its_statements_under_its_writer_lease(
    athena_env: AthenaEnv, athena_project: Path
) -> None:
    recorder = Recorder()
    prefix = f"m{uuid.uuid4().hex[:8]}_"
    env = {**athena_env.env, "FEATURESTORE_DYNAMODB_TABLE_PREFIX": prefix}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AthenaBackend, "start_query_execution", recorder.wrap(AthenaBackend.start_query_execution))
        done = subprocess.run(
            [str(FEATURESTORE), "maintain", "--show-files", "--select", "user_engagement,article_popularity"],
            cwd=athena_project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    today = dt.datetime.now(dt.UTC).date()
    assert len(recorder.statements) == 10
    for group, statements in zip(
        ("user_engagement", "article_popularity"), (recorder.statements[:5], recorder.statements[5:]), strict=True
    ):
        relation = f'"awsdatacatalog"."featurestore_features"."{group}"'
        counts, alter, optimize, vacuum, counts_after = statements
        assert counts == counts_after and f'"featurestore_features"."{group}$files"' in counts
        assert alter.startswith(f"alter table `featurestore_features`.`{group}` set tblproperties")
        assert "'vacuum_max_snapshot_age_seconds'='86400'" in alter  # dbt_project.yml: 24 hours
        match = re.fullmatch(
            rf"optimize {re.escape(relation)} rewrite data using bin_pack where effective_at >= timestamp '(.+)'",
            optimize,
        )
        assert match, optimize
        since = dt.datetime.fromisoformat(match[1])
        # dbt_project.yml: 35 days (the run may have crossed midnight).
        assert since.time() == dt.time() and (today - since.date()).days in (35, 36)
        assert vacuum == f"vacuum {relation}"
        assert {sql: sql_problems(sql) for sql in statements} == {sql: [] for sql in statements}
        assert f"{group}: optimized the last 35 days, vacuumed; files 0 -> 0" in done.stdout.replace("\n", " ")
    # The writer leases were taken and given back.
    dynamodb = athena_env.server.client("dynamodb")
    items = dynamodb.scan(TableName=f"{prefix}__sync_markers")["Items"]
    assert [item for item in items if item["group_name"]["S"].startswith("writer#")] == []


def test_maintain_on_the_local_target_says_there_is_nothing_to_do(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [str(FEATURESTORE), "maintain", "--project-dir", str(root)],
        env={"PATH": str(Path(sys.executable).parent), "FEATURESTORE_TARGET": "local", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "nothing to maintain" in done.stdout
