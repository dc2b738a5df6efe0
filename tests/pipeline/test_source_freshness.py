"""`dbt source freshness` on the raw event tables (loaded_at_field: ingested_at, thresholds in dbt_project.yml):
passes on data ingested until now, errors on data ingested weeks ago."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from support.local_project import make_local_project

from featurestore.demo import DemoDataConfig, generate_demo_data

pytestmark = [pytest.mark.dbt]


def _statuses(target_path) -> dict[str, str]:
    sources = json.loads((target_path / "sources.json").read_text())
    return {result["unique_id"].rsplit(".", 1)[-1]: result["status"] for result in sources["results"]}


def test_source_freshness_passes_on_fresh_data_and_fails_on_stale(tmp_path_factory: pytest.TempPathFactory) -> None:
    project = make_local_project(tmp_path_factory.mktemp("source_freshness"))
    # Two days up to the end of today (UTC): the newest rows are ingested minutes before now, or later today.
    today = dt.datetime.now(dt.UTC).date()
    generate_demo_data(
        DemoDataConfig(users=40, days=2, start=today - dt.timedelta(days=1), seed=3), project.root / "raw"
    )
    fresh = project.dbt("source", "freshness")
    assert fresh.returncode == 0, fresh.stdout[-3000:]
    assert _statuses(project.target_path) == {"impressions": "pass", "reactions": "pass"}

    # The same tables, ingested in the past: more than 24 hours behind now is an error, and dbt exits 1.
    generate_demo_data(
        DemoDataConfig(users=40, days=2, start=today - dt.timedelta(days=9), seed=3), project.root / "raw"
    )
    stale = project.dbt("source", "freshness")
    assert stale.returncode == 1, stale.stdout[-3000:]
    assert _statuses(project.target_path) == {"impressions": "error", "reactions": "error"}
