"""The HTTP API (FastAPI) over a sqlite online store, through FastAPI's TestClient."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.online_support import catalog_of, make_group, values_for

from featurestore.core.keys import encode_key
from featurestore.http.api import create_app
from featurestore.online.base import GroupCodec
from featurestore.online.sqlite import SqliteOnlineStore
from featurestore.store import FeatureStore

T0 = dt.datetime(2026, 10, 5, 12, 0)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    group = make_group(ttl="1d")
    online = SqliteOnlineStore(tmp_path / "online.sqlite")
    codec = GroupCodec(group)
    online.write(group, [codec.record(encode_key([u]), T0, values_for(u)) for u in (1, 2)])
    online.write(group, [codec.record(encode_key([3]), T0 - dt.timedelta(days=3), values_for(3))])
    store = FeatureStore(catalog_of(group, make_group("fg_off", online=False)), online, now=lambda: T0)
    with TestClient(create_app(store)) as test_client:
        yield test_client
    store.close()


def test_lookup_in_request_order_with_statuses(client: TestClient) -> None:
    response = client.post(
        "/online-features",
        json={
            "features": ["fg_test:count_7d", "fg_test:seen_at"],
            "entities": [{"user_id": 2}, {"user_id": 3}, {"user_id": 9}, {"user_id": 1}],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["features"] == ["fg_test:count_7d", "fg_test:seen_at"]
    assert [r["values"]["fg_test:count_7d"] for r in body["results"]] == [6, None, None, 3]
    assert [r["statuses"][0] for r in body["results"]] == ["PRESENT", "EXPIRED", "NOT_FOUND", "PRESENT"]
    assert body["results"][0]["values"]["fg_test:seen_at"] == values_for(2)["seen_at"].isoformat()


@pytest.mark.parametrize(
    ("payload", "status", "named"),
    [
        ({"features": ["nope:x"], "entities": [{"user_id": 1}]}, 404, "nope"),
        ({"features": ["fg_test:nope"], "entities": [{"user_id": 1}]}, 404, "fg_test:nope"),
        ({"features": ["fg_off:count_7d"], "entities": [{"user_id": 1}]}, 409, "fg_off"),
        ({"features": ["fg_test:count_7d"], "entities": [{"article_id": 1}]}, 400, "lacks 'user_id'"),
        ({"features": ["fg_test:count_7d"], "entities": [{"user_id": 1.5}]}, 422, "user_id"),
        ({"features": [], "entities": [{"user_id": 1}]}, 422, "features"),
        ({"features": ["fg_test:count_7d"]}, 422, "entities"),
        ({"features": "fg_test:count_7d", "entities": [{"user_id": 1}]}, 422, "features"),
    ],
)
def test_bad_requests_say_what_is_wrong(
    client: TestClient, payload: dict[str, object], status: int, named: str
) -> None:
    response = client.post("/online-features", json=payload)
    assert response.status_code == status, response.text
    assert named in response.text


def test_openapi_schema_describes_the_lookup(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/online-features" in schema["paths"]
    assert set(schema["components"]["schemas"]["OnlineFeaturesRequest"]["properties"]) == {"features", "entities"}
    assert client.get("/feature-groups").json()[0]["name"] == "fg_test"
