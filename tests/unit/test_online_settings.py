"""Online-store settings from the environment: defaults, every variable, and errors naming the variable."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from featurestore.core.errors import SettingsError
from featurestore.core.settings import Settings


def test_defaults_are_the_local_sqlite_file(tmp_path: Path) -> None:
    online = Settings.from_env(tmp_path, env={}).online
    assert (online.backend, online.sqlite_path) == ("sqlite", tmp_path.resolve() / "target" / "online.sqlite")
    assert (online.dynamodb_write_mode, online.sync_overlap) == ("auto", dt.timedelta(0))


def test_every_variable_is_read(tmp_path: Path) -> None:
    env = {
        "FEATURESTORE_ONLINE_BACKEND": "DynamoDB",
        "FEATURESTORE_SQLITE_PATH": "/tmp/x.sqlite",
        "FEATURESTORE_DYNAMODB_TABLE_PREFIX": "fs_",
        "AWS_REGION": "eu-west-1",
        "FEATURESTORE_DYNAMODB_ENDPOINT_URL": "http://127.0.0.1:1",
        "FEATURESTORE_ONLINE_WRITE_CONCURRENCY": "4",
        "FEATURESTORE_DYNAMODB_WRITE_MODE": "batch",
        "FEATURESTORE_DYNAMODB_LEASE_SECONDS": "60",
        "FEATURESTORE_SYNC_OVERLAP_SECONDS": "3600",
    }
    online = Settings.from_env(tmp_path, env=env).online
    assert online.backend == "dynamodb" and online.sqlite_path == Path("/tmp/x.sqlite")
    assert (online.dynamodb_table_prefix, online.dynamodb_region, online.dynamodb_endpoint_url) == (
        "fs_",
        "eu-west-1",
        "http://127.0.0.1:1",
    )
    assert (online.write_concurrency, online.dynamodb_write_mode, online.dynamodb_lease_seconds) == (4, "batch", 60)
    assert online.sync_overlap == dt.timedelta(hours=1)
    env["FEATURESTORE_DYNAMODB_REGION"] = "us-west-2"
    assert Settings.from_env(tmp_path, env=env).online.dynamodb_region == "us-west-2"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FEATURESTORE_ONLINE_BACKEND", "redis"),
        ("FEATURESTORE_ONLINE_WRITE_CONCURRENCY", "many"),
        ("FEATURESTORE_ONLINE_WRITE_CONCURRENCY", "0"),
        ("FEATURESTORE_DYNAMODB_WRITE_MODE", "fast"),
        ("FEATURESTORE_DYNAMODB_LEASE_SECONDS", "1"),
        ("FEATURESTORE_SYNC_OVERLAP_SECONDS", "-5"),
    ],
)
def test_bad_values_name_their_variable(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(tmp_path, env={name: value})
