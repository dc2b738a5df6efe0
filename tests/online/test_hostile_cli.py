"""The CLI under hostile input (issue 14, items 5, 6 and 8): usage errors in one line without a traceback,
non-finite values shown as the HTTP API encodes them, `serve` options, and a manifest naming another database.

The project here is hand-made (a manifest with one feature group, its DuckDB table and a sqlite online
store), so no dbt run is needed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from featurestore.cli import app
from featurestore.core.contract import parse_feature_group
from featurestore.core.keys import encode_key
from featurestore.online.base import GroupCodec
from featurestore.online.sqlite import SqliteOnlineStore

BIN_DIR = Path(sys.executable).parent
T0 = dt.datetime(2020, 1, 5, 12, 0)  # long past: values written then are expired by the wall clock
GROUP = "fg_cli"


TRAINING = ["--features", f"{GROUP}:count_7d", "--spine-time", "t"]


def _node(database: str) -> dict[str, Any]:
    columns = {
        "user_id": "bigint",
        "effective_at": "timestamp",
        "count_7d": "bigint",
        "ratio_7d": "double",
        "computed_at": "timestamp",
    }
    return {
        "unique_id": f"model.featurestore.{GROUP}",
        "name": GROUP,
        "resource_type": "model",
        "database": database,
        "schema": "main_features",
        "relation_name": f'"{database}"."main_features"."{GROUP}"',
        "config": {
            "meta": {
                "feature_group": {
                    "entity": ["user_id"],
                    "event_time": "effective_at",
                    "online": True,
                    "ttl": "1d",
                    "owner": "tests",
                }
            }
        },
        "columns": {name: {"name": name, "data_type": kind, "description": name} for name, kind in columns.items()},
    }


def _write_manifest(root: Path, database: str) -> None:
    node = _node(database)
    (root / "target" / "manifest.json").write_text(json.dumps({"nodes": {node["unique_id"]: node}}))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile-cli")
    (root / "target").mkdir()
    _write_manifest(root, "featurestore")
    with duckdb.connect(str(root / "target" / "featurestore.duckdb")) as connection:
        connection.execute("create schema main_features")
        connection.execute(
            f"create table main_features.{GROUP} (user_id bigint, effective_at timestamp, count_7d bigint, "
            "ratio_7d double, computed_at timestamp)"
        )
        connection.executemany(
            f"insert into main_features.{GROUP} values (?, ?, ?, ?, ?)",
            [(1, T0, 1, math.nan, T0), (2, T0, 2, math.inf, T0), (3, T0, 3, -math.inf, T0)],
        )
    group = parse_feature_group(_node("featurestore"))
    codec = GroupCodec(group)
    online = SqliteOnlineStore(root / "target" / "online.sqlite")
    online.write(
        group,
        [
            codec.record(encode_key([user]), T0, {"count_7d": user, "ratio_7d": ratio})
            for user, ratio in ((1, math.nan), (2, math.inf), (3, -math.inf))
        ],
    )
    online.close()
    return root


def _env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FEATURESTORE_", "DBT_"))}
    env["COLUMNS"] = "100"
    return env


def featurestore(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN_DIR / "featurestore"), *args, "--project-dir", str(project)],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "code", "named"),
    [
        (["show", GROUP, "--as-of", "garbage"], 2, "--as-of"),
        (["show", GROUP, "--limit", "x"], 2, "--limit"),
        (["online", "get", GROUP, "1", "--now", "10000-01-01"], 2, "--now"),
        (["online", "get", GROUP, "1", "--now", "9999-12-31T23:00-05:00"], 2, "out of range"),
        (["sync", "--now", "0001-01-01T00:00+01:00"], 2, "out of range"),
        (["training-set", "--spine", "missing.parquet", *TRAINING], 2, "--spine"),
        (["training-set", "--spine", "x; drop table y", *TRAINING], 1, "table name"),
        (["show", "nope[bold]"], 1, "unknown feature group 'nope[bold]'"),
    ],
)  # fmt: skip
def test_a_mistake_gets_one_line_and_no_traceback(project: Path, args: list[str], code: int, named: str) -> None:
    result = featurestore(project, *args)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert named in result.stderr


def test_non_finite_values_are_shown_as_the_http_api_encodes_them(project: Path) -> None:
    # `show` defaults to now and applies the TTL: ask as of the time the values were written.
    offline = featurestore(project, "show", GROUP, "--as-of", T0.isoformat())
    assert offline.returncode == 0, offline.stderr
    assert {"NaN", "Infinity", "-Infinity"} <= set(offline.stdout.split()), offline.stdout
    for user, text in ((1, "NaN"), (3, "-Infinity")):
        online = featurestore(project, "online", "get", GROUP, str(user), "--now", T0.isoformat())
        assert online.returncode == 0, online.stderr
        assert text in online.stdout.split() and "PRESENT" in online.stdout, online.stdout


def test_commands_read_the_configured_file_when_the_manifest_names_another_database(
    project: Path, tmp_path: Path
) -> None:
    """`dbt run` against another DuckDB file (FEATURESTORE_DUCKDB_PATH=.../scratch.duckdb) rewrites the
    manifest's relation names to the database `scratch`; `show` and `sync` still read the configured file."""
    root = tmp_path / "project"
    (root / "target").mkdir(parents=True)
    (root / "target" / "featurestore.duckdb").write_bytes((project / "target" / "featurestore.duckdb").read_bytes())
    _write_manifest(root, "scratch")
    shown = featurestore(root, "show", GROUP, "2", "--as-of", T0.isoformat())
    assert shown.returncode == 0, shown.stderr
    assert "Infinity" in shown.stdout.split()
    synced = featurestore(root, "sync", "--now", T0.isoformat())
    assert synced.returncode == 0, synced.stderr
    assert "3 rows read" in synced.stdout
    # The configured file lacks the group: the error says which database the manifest names, and why.
    with duckdb.connect(str(root / "target" / "featurestore.duckdb")) as connection:
        connection.execute(f"drop table main_features.{GROUP}")
    missing = featurestore(root, "show", GROUP, "--as-of", T0.isoformat())
    assert missing.returncode == 1
    assert "'scratch'" in missing.stderr and "FEATURESTORE_DUCKDB_PATH" in missing.stderr


# --- serve, in-process: uvicorn.run hands its app to the test ---------------------------------------------------


@pytest.fixture
def serve(project: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    import uvicorn

    for key in list(os.environ):
        if key.startswith("FEATURESTORE_"):
            monkeypatch.delenv(key)
    served: dict[str, Any] = {}

    def fake_run(asgi: Any, host: str, port: int) -> None:
        served.update(host=host, port=port)
        # Inside the command, while its store is open.
        with TestClient(asgi) as client:
            payload = {"features": [f"{GROUP}:count_7d"], "entities": [{"user_id": 1}]}
            served["health"] = client.get("/health").status_code
            served["lookup"] = client.post("/online-features", json=payload)
            served["authorized"] = client.post(
                "/online-features", json=payload, headers={"Authorization": "Bearer s3cret"}
            )

    monkeypatch.setattr(uvicorn, "run", fake_run)

    def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[Any, dict[str, Any]]:
        result = CliRunner().invoke(app, ["serve", *args, "--project-dir", str(project)], env=env)
        assert result.exit_code == 0, result.output
        return result, served

    return invoke


def test_serve_off_loopback_warns_that_there_is_no_authentication(serve: Any) -> None:
    result, served = serve("--host", "0.0.0.0")
    assert served["host"] == "0.0.0.0"
    assert "without authentication" in result.stderr
    result, _ = serve("--host", "::")
    assert "without authentication" in result.stderr
    for host in ("127.0.0.1", "localhost", "::1"):
        result, _ = serve("--host", host)
        assert "without authentication" not in result.stderr


def test_serve_with_a_token_requires_it(serve: Any) -> None:
    for args, env in ((["--token", "s3cret"], None), ([], {"FEATURESTORE_API_TOKEN": "s3cret"})):
        result, served = serve("--host", "0.0.0.0", *args, env=env)
        assert "without authentication" not in result.stderr
        assert served["health"] == 200
        assert served["lookup"].status_code == 401
        assert served["authorized"].status_code == 200


def test_serve_takes_now_like_online_get(serve: Any) -> None:
    _, served = serve()
    assert served["lookup"].json()["results"][0]["statuses"] == ["EXPIRED"]  # written at T0, TTL 1 day
    _, served = serve("--now", (T0 + dt.timedelta(hours=1)).isoformat())
    assert served["lookup"].json()["results"][0]["statuses"] == ["PRESENT"]


def test_lists_show_non_finite_values_the_same_way() -> None:
    from featurestore.cli.render import format_cell

    assert format_cell([0.5, math.nan, math.inf, -math.inf, None]) == "[0.500, NaN, Infinity, -Infinity, ∅]"
