"""Entity key encoding and feature value codecs: collision-free keys, every type round-trips."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.online_support import make_group

from featurestore.core.errors import EntityKeyError, OnlineStoreError
from featurestore.core.keys import coerce_key_part, decode_key, encode_key, key_of
from featurestore.core.value_codec import (
    Kind,
    ValueType,
    digest,
    from_dynamodb,
    from_json,
    to_dynamodb,
    to_json,
    value_type,
)

key_parts = st.one_of(st.integers(min_value=-(2**63), max_value=2**63 - 1), st.text(max_size=20))
key_tuples = st.lists(key_parts, min_size=1, max_size=3).map(tuple)


@given(key_tuples, key_tuples)
def test_different_keys_never_share_an_encoding(a: tuple[Any, ...], b: tuple[Any, ...]) -> None:
    assert (encode_key(a) == encode_key(b)) == (a == b and [type(x) for x in a] == [type(x) for x in b])


@given(key_tuples)
def test_keys_decode_to_their_values(values: tuple[Any, ...]) -> None:
    assert decode_key(encode_key(values)) == values


def test_the_encoding_is_the_documented_one() -> None:
    # Stored items are addressed by these bytes: changing them orphans every stored item.
    assert encode_key([42]) == "[42]"
    assert encode_key([42, "sports"]) == '[42,"sports"]'
    assert encode_key(['ä,"x']) == '["ä,\\"x"]'
    # What plain concatenation would merge stays apart.
    assert encode_key(["4", "2x"]) != encode_key(["42", "x"])
    assert encode_key([1]) != encode_key(["1"])


def test_request_values_are_typed_by_the_entity_column() -> None:
    group = make_group(entity=(("user_id", "bigint"), ("category", "varchar")))
    assert key_of(group, {"user_id": "7", "category": "news"}) == key_of(group, {"user_id": 7, "category": "news"})
    with pytest.raises(EntityKeyError, match=r"'category'.*text"):
        key_of(group, {"user_id": 7, "category": 3})
    with pytest.raises(EntityKeyError, match="lacks 'category'"):
        key_of(group, {"user_id": 7})
    with pytest.raises(EntityKeyError, match="integer"):
        coerce_key_part(True, "bigint", group="g", column="user_id")
    with pytest.raises(EntityKeyError, match="longer than 2048"):
        encode_key(["x" * 3000])


finite = st.floats(allow_nan=False)
timestamps = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1))
TYPED_VALUES = [
    ("bigint", st.integers(min_value=-(2**63), max_value=2**63 - 1)),
    ("double", st.floats(allow_nan=True)),
    ("varchar", st.text()),
    ("boolean", st.booleans()),
    ("timestamp", timestamps),
    ("array<bigint>", st.lists(st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1)))),
    ("array<double>", st.lists(finite)),
    ("varchar[]", st.lists(st.text(max_size=5))),
]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize(("data_type", "strategy"), TYPED_VALUES, ids=[t for t, _ in TYPED_VALUES])
@given(data=st.data())
def test_values_round_trip_through_both_codecs(data: st.DataObject, data_type: str, strategy: Any) -> None:
    vtype = value_type(data_type)
    value = data.draw(st.one_of(st.none(), strategy))
    assert _same(from_json(to_json(value, vtype), vtype), value) or value is None
    assert _same(from_dynamodb(to_dynamodb(value, vtype), vtype), value) or value is None
    if value is None:
        assert from_json(to_json(None, vtype), vtype) is None
        assert from_dynamodb(to_dynamodb(None, vtype), vtype) is None


def test_dynamodb_numbers_stay_within_its_range() -> None:
    double = ValueType(Kind.FLOAT)
    assert to_dynamodb(1e300, double) == {"S": "1e+300"}
    assert to_dynamodb(math.inf, double) == {"S": "inf"}
    assert to_dynamodb(0.1, double) == {"N": "0.1"}
    # DynamoDB gives back "1" for "1.0": the declared type, not the stored text, makes it a float again.
    assert from_dynamodb({"N": "1"}, double) == 1.0 and isinstance(from_dynamodb({"N": "1"}, double), float)


def test_unsupported_types_are_refused_by_name() -> None:
    with pytest.raises(OnlineStoreError, match="'map<varchar,bigint>'"):
        value_type("map<varchar,bigint>")


def test_digest_tells_values_apart() -> None:
    assert digest([1, None, "a"]) == digest([1, None, "a"])
    assert digest([1, None, "a"]) != digest([1, "a", None])
    assert digest([1.0]) != digest([1])
