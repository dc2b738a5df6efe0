"""The HTTP API under hostile input (issue 14, item 5): NaN and huge bodies get a 4xx, errors quote a short
excerpt of the input, stored non-finite floats come back as the documented strings, /docs works offline."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.online_support import catalog_of, make_group, values_for

from featurestore.core.keys import encode_key
from featurestore.http.api import create_app
from featurestore.online.base import GroupCodec
from featurestore.online.sqlite import SqliteOnlineStore
from featurestore.store import FeatureStore

T0 = dt.datetime(2026, 10, 5, 12, 0)
FEATURES = ["fg_test:ratio_7d", "fg_test:count_7d"]


def _store(tmp_path: Path) -> FeatureStore:
    group = make_group(ttl="1d")
    online = SqliteOnlineStore(tmp_path / "online.sqlite")
    codec = GroupCodec(group)
    records = []
    for user, ratio in ((1, math.nan), (2, math.inf), (3, -math.inf), (4, 0.25)):
        values = {**values_for(user), "ratio_7d": ratio, "scores": [1, 2]}
        records.append(codec.record(encode_key([user]), T0, values))
    online.write(group, records)
    return FeatureStore(catalog_of(group), online, now=lambda: T0)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    store = _store(tmp_path)
    with TestClient(create_app(store, max_body_bytes=64 * 1024)) as test_client:
        yield test_client
    store.close()


def _post(client: TestClient, text: str | bytes) -> Any:
    return client.post("/online-features", content=text, headers={"content-type": "application/json"})


@pytest.mark.parametrize(
    "body",
    [
        '{"features": ["fg_test:count_7d"], "entities": [{"user_id": NaN}]}',
        '{"features": ["fg_test:count_7d"], "entities": [{"user_id": Infinity}]}',
        '{"features": ["fg_test:count_7d"], "entities": [{"user_id": -1e999}]}',
        '{"features": [NaN], "entities": [{"user_id": 1}]}',
        '{"features": ["fg_test:count_7d"], "entities": [{"user_id": 1}], "x": NaN}',
    ],
)
def test_non_finite_numbers_in_a_request_get_a_422_naming_the_field(client: TestClient, body: str) -> None:
    response = _post(client, body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail and all({"loc", "msg", "type"} <= set(error) for error in detail)


@pytest.mark.parametrize("text", ["²", "--5", "9" * 5000, "١٢"])
def test_text_that_only_looks_like_an_integer_key_gets_a_400(client: TestClient, text: str) -> None:
    response = client.post("/online-features", json={"features": FEATURES, "entities": [{"user_id": text}]})
    assert response.status_code == 400, response.text
    assert len(response.text) < 1000


def test_a_validation_error_quotes_a_short_excerpt_of_the_input(client: TestClient) -> None:
    huge = "x" * 50_000
    for payload in (
        {"features": FEATURES, "entities": [{"user_id": 1.5, huge: 1}]},
        {"features": FEATURES, "entities": [{"user_id": [huge]}]},
        {"features": FEATURES, "entities": [{"user_id": 1}], huge: 1},
        {"features": [huge], "entities": [{"user_id": 1}]},
        {"features": FEATURES, "entities": [{"user_id": 0.5}] * 900},
    ):
        response = client.post("/online-features", json=payload)
        assert 400 <= response.status_code < 500, response.text[:300]
        assert len(response.content) < 4000, response.text[:300]


def test_a_body_over_the_cap_is_refused_before_it_is_read(client: TestClient) -> None:
    entity = {"user_id": 1}
    big = json.dumps({"features": FEATURES, "entities": [entity] * 10_000})
    assert len(big) > 64 * 1024
    response = _post(client, big)
    assert response.status_code == 413 and "larger than" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap counts what streams in
        yield b'{"features": ["fg_test:count_7d"], "entities": ['
        for _ in range(10_000):
            yield b'{"user_id": 1},'
        yield b'{"user_id": 1}]}'

    response = client.post("/online-features", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    small = _post(client, json.dumps({"features": FEATURES, "entities": [entity]}))
    assert small.status_code == 200


def test_the_default_cap_is_a_mebibyte(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with TestClient(create_app(store)) as test_client:
        response = _post(test_client, b" " * (1024 * 1024 + 1))
    store.close()
    assert response.status_code == 413


def test_stored_non_finite_floats_are_the_documented_strings_with_status_present(client: TestClient) -> None:
    entities = [{"user_id": user} for user in (1, 2, 3, 4)]
    response = client.post("/online-features", json={"features": FEATURES, "entities": entities})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [result["values"]["fg_test:ratio_7d"] for result in body["results"]] == [
        "NaN",
        "Infinity",
        "-Infinity",
        0.25,
    ]
    assert {status for result in body["results"] for status in result["statuses"]} == {"PRESENT"}
    json.loads(response.text, parse_constant=_no_constants)
    schema = client.get("/openapi.json").text
    assert '\\"Infinity\\"' in schema or '"Infinity"' in schema


def test_docs_work_without_internet(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(source.startswith("/") for source in sources), sources
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200 and len(asset.content) > 500, source


def test_a_token_guards_every_route_but_health(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with TestClient(create_app(store, token="s3cret")) as test_client:
        payload = {"features": FEATURES, "entities": [{"user_id": 4}]}
        assert test_client.get("/health").status_code == 200
        assert test_client.post("/online-features", json=payload).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert test_client.post("/online-features", json=payload, headers=wrong).status_code == 401
        right = {"Authorization": "Bearer s3cret"}
        assert test_client.post("/online-features", json=payload, headers=right).status_code == 200
        assert test_client.get("/feature-groups").status_code == 401
    store.close()


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
REQUESTS = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries(
        {
            "features": st.one_of(
                st.lists(st.sampled_from([*FEATURES, "fg_test:nope", "nope:x", "fg_test", ":", "a:b:c"]), max_size=3),
                JSON_VALUES,
            ),
            "entities": st.one_of(
                st.lists(st.dictionaries(st.sampled_from(["user_id", "x", ""]), JSON_VALUES, max_size=2), max_size=3),
                JSON_VALUES,
            ),
        },
        optional={"extra": JSON_VALUES},
    ),
)


def _no_constants(name: str) -> None:
    raise AssertionError(f"the response holds a bare {name}, which is not JSON")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=REQUESTS, raw=st.booleans())
def test_fuzz_random_json_never_gets_a_5xx(client: TestClient, payload: Any, raw: bool) -> None:
    """Random JSON (NaN and infinities as Python's json writes them, huge integers, unicode, NUL) and random
    bytes: a 2xx or a 4xx whose body is valid JSON, never a 5xx or a traceback."""
    body = json.dumps(payload).encode() if not raw else json.dumps(payload).encode()[:-1]
    response = _post(client, body)
    assert response.status_code < 500, response.text[:500]
    assert "Traceback" not in response.text
    json.loads(response.text, parse_constant=_no_constants)  # strict JSON: no bare NaN slips through
    assert len(response.content) < 20_000
