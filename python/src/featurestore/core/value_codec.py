"""Feature values in the online store, typed by each feature's declared `data_type`.

Values are decoded by the contract's type rather than by what the store hands back, because DynamoDB
normalises numbers (`1.0` comes back as `1`) and has no timestamp type. Supported: integers, floats
(including NaN and infinities), text, booleans, timestamps (naive UTC, microseconds), NULL, and arrays of
these (`array<bigint>`, `bigint[]`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from featurestore.core.errors import OnlineStoreError
from featurestore.core.timestamps import naive_utc


class Kind(Enum):
    INT = "int"
    FLOAT = "float"
    STR = "str"
    BOOL = "bool"
    TIMESTAMP = "timestamp"
    LIST = "list"


@dataclass(frozen=True)
class ValueType:
    kind: Kind
    element: ValueType | None = None


_BASE_KINDS = {
    **dict.fromkeys(("bigint", "integer", "int", "smallint", "tinyint", "hugeint"), Kind.INT),
    **dict.fromkeys(("double", "float", "real", "decimal", "numeric"), Kind.FLOAT),
    **dict.fromkeys(("varchar", "string", "text", "char"), Kind.STR),
    **dict.fromkeys(("boolean", "bool"), Kind.BOOL),
    **dict.fromkeys(("timestamp", "datetime", "timestamp(3)", "timestamp(6)"), Kind.TIMESTAMP),
}
# Outside this range a float is not a valid DynamoDB number; such floats are stored as text.
_DYNAMODB_MIN, _DYNAMODB_MAX = 1e-130, 1e125


def value_type(data_type: str) -> ValueType:
    text = data_type.strip().lower()
    if text.startswith("array<") and text.endswith(">"):
        return ValueType(Kind.LIST, value_type(text[6:-1]))
    if text.endswith("[]"):
        return ValueType(Kind.LIST, value_type(text[:-2]))
    base = text if text.startswith("timestamp(") else text.split("(")[0].strip()
    kind = _BASE_KINDS.get(base)
    if kind is None:
        raise OnlineStoreError(
            f"data_type {data_type!r} cannot be stored online; use bigint, double, varchar, boolean, timestamp "
            "or an array of them"
        )
    return ValueType(kind)


# --- JSON (sqlite values and the change digest) ---


def to_json(value: Any, vtype: ValueType) -> Any:
    if value is None:
        return None
    if vtype.kind is Kind.TIMESTAMP:
        return naive_utc(value).isoformat(timespec="microseconds")
    if vtype.kind is Kind.LIST:
        assert vtype.element is not None
        return [to_json(item, vtype.element) for item in value]
    if vtype.kind is Kind.FLOAT:
        return float(value)
    if vtype.kind is Kind.INT:
        return int(value)
    return value


def from_json(value: Any, vtype: ValueType) -> Any:
    if value is None:
        return None
    if vtype.kind is Kind.TIMESTAMP:
        return datetime.fromisoformat(value)
    if vtype.kind is Kind.LIST:
        assert vtype.element is not None
        return [from_json(item, vtype.element) for item in value]
    if vtype.kind is Kind.FLOAT:
        return float(value)
    return value


# Built once: json.dumps with options builds a new encoder per call, a third of a full load's Python time.
_DIGEST_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=True)


def digest(values: Sequence[Any]) -> str:
    """A fingerprint of a row's JSON-encoded feature values: equal event time + other digest = a rewrite."""
    return hashlib.blake2b(_DIGEST_JSON.encode(values).encode(), digest_size=12).hexdigest()


# --- DynamoDB attribute values ---


def to_dynamodb(value: Any, vtype: ValueType) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    kind = vtype.kind
    if kind is Kind.INT:
        return {"N": str(int(value))}
    if kind is Kind.FLOAT:
        number = float(value)
        if number == 0.0 and math.copysign(1.0, number) > 0:
            return {"N": "0"}
        if math.isfinite(number) and _DYNAMODB_MIN <= abs(number) < _DYNAMODB_MAX:
            return {"N": repr(number)}
        return {"S": repr(number)}
    if kind is Kind.STR:
        return {"S": str(value)}
    if kind is Kind.BOOL:
        return {"BOOL": bool(value)}
    if kind is Kind.TIMESTAMP:
        return {"S": naive_utc(value).isoformat(timespec="microseconds")}
    assert vtype.element is not None
    return {"L": [to_dynamodb(item, vtype.element) for item in value]}


def from_dynamodb(attribute: Mapping[str, Any], vtype: ValueType) -> Any:
    if "NULL" in attribute:
        return None
    kind = vtype.kind
    if kind is Kind.INT:
        return int(attribute["N"])
    if kind is Kind.FLOAT:
        return float(attribute["N"] if "N" in attribute else attribute["S"])
    if kind is Kind.STR:
        return attribute["S"]
    if kind is Kind.BOOL:
        return attribute["BOOL"]
    if kind is Kind.TIMESTAMP:
        return datetime.fromisoformat(attribute["S"])
    assert vtype.element is not None
    return [from_dynamodb(item, vtype.element) for item in attribute["L"]]


# --- JSON for clients and people (the HTTP API, the CLI) ---


def non_finite_text(value: float) -> str | None:
    """JSON has no NaN or infinities: like the proto3 JSON mapping, they are the strings "NaN", "Infinity" and
    "-Infinity" (which JavaScript's Number() and Python's float() read back); None for a finite number."""
    if math.isfinite(value):
        return None
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def to_public_json(value: Any) -> Any:
    """A feature value for a JSON response: non-finite floats as non_finite_text says, in lists too."""
    if isinstance(value, float):
        text = non_finite_text(value)
        return value if text is None else text
    if isinstance(value, list):
        return [to_public_json(item) for item in value]
    return value
