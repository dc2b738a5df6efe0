"""The online store's key of an entity: one string for one or more entity key values.

The encoding is the compact JSON array of the values in the contract's `entity` order, e.g.
`[42]` for user 42 and `[42,"sports"]` for (user 42, category "sports"). JSON is injective on these types
(strings are quoted and escaped, numbers are not quoted, booleans are words), so two different key tuples
never share an encoding, unlike plain concatenation (`4` + `2x` = `42` + `x`). It is stable: the same
values always give the same bytes (no spaces, no ASCII escaping of non-ASCII text), and it must never
change, because stored items are addressed by it.

Values are typed by the entity column's `data_type` before encoding, so `"42"` from a URL and `42` from
the offline store address the same user.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from featurestore.core.contract import FeatureGroup
from featurestore.core.errors import EntityKeyError
from featurestore.core.identifiers import excerpt

# DynamoDB's limit for a partition key value.
MAX_KEY_BYTES = 2048
_INTEGER_TYPES = ("bigint", "integer", "int", "smallint", "tinyint", "hugeint", "ubigint", "uinteger")
_STRING_TYPES = ("varchar", "string", "text", "char")

KeyPart = int | str | bool
# Text accepted for an integer column: ASCII digits only (str.isdigit() also accepts "²", which int() refuses),
# and short enough for a 64-bit integer (int() refuses texts of over 4,300 digits).
_DECIMAL_INTEGER = re.compile(r"-?[0-9]{1,20}\Z")
# Built once (json.dumps with options builds an encoder per call; a full load encodes every entity's key).
_KEY_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def encode_key(values: Sequence[KeyPart]) -> str:
    """The stored key of an entity; values must already be typed (see `coerce_key_part`)."""
    for value in values:
        if not isinstance(value, int | str):
            raise EntityKeyError(
                f"entity key value {excerpt(value)} is a {type(value).__name__}; use an integer or text"
            )
    encoded = _KEY_JSON.encode(list(values))
    if len(encoded.encode()) > MAX_KEY_BYTES:
        raise EntityKeyError(f"entity key {encoded[:80]}... is longer than {MAX_KEY_BYTES} bytes encoded")
    return encoded


def decode_key(encoded: str) -> tuple[KeyPart, ...]:
    values = json.loads(encoded)
    if not isinstance(values, list):
        raise ValueError(f"{encoded!r} is not an encoded entity key")
    return tuple(values)


def coerce_key_part(value: object, data_type: str, *, group: str, column: str) -> KeyPart:
    """A request's key value typed as the entity column is; text digits for an integer column are accepted."""
    base = data_type.split("(")[0].strip()
    if base in _INTEGER_TYPES:
        if isinstance(value, bool):
            pass
        elif isinstance(value, int):
            return value
        elif isinstance(value, str) and _DECIMAL_INTEGER.match(value.strip()):
            return int(value)
        raise EntityKeyError(f"feature group '{group}': entity column '{column}' is an integer, got {excerpt(value)}")
    if base in _STRING_TYPES or base == "":
        if isinstance(value, str):
            return value
        if base == "" and isinstance(value, int) and not isinstance(value, bool):
            return value
        raise EntityKeyError(f"feature group '{group}': entity column '{column}' is text, got {excerpt(value)}")
    if base in ("boolean", "bool") and isinstance(value, bool):
        return value
    raise EntityKeyError(
        f"feature group '{group}': entity column '{column}' has data_type {data_type!r}, which cannot key the "
        "online store (use an integer or text entity column)"
    )


def key_of(group: FeatureGroup, row: object) -> str:
    """The stored key of the entity named by `row` (a mapping with the group's entity columns)."""
    if not isinstance(row, dict):
        raise EntityKeyError(f"an entity row must be a mapping of entity column to value, got {excerpt(row)}")
    types = group.entity_types or ("",) * len(group.entity)
    parts = []
    for column, data_type in zip(group.entity, types, strict=True):
        if column not in row:
            raise EntityKeyError(
                f"entity row {excerpt(row)} lacks '{column}', an entity column of feature group '{group.name}' "
                f"(its entity: {', '.join(group.entity)})"
            )
        parts.append(coerce_key_part(row[column], data_type, group=group.name, column=column))
    return encode_key(parts)
