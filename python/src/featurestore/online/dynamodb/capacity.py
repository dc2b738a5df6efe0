"""What DynamoDB bills for a write it refused, which its error response does not say.

A conditional write whose condition fails still consumes write capacity: as many units as the existing
item's size takes (1 KB per unit, rounded up; at least 1 when there is no item), per the DynamoDB
Developer Guide ("Conditional writes", in "Working with items and attributes"). The failed request's
response carries no ConsumedCapacity, so the sync asks for the existing item
(ReturnValuesOnConditionCheckFailure=ALL_OLD, which costs nothing more) and sizes it by the rules of
"Item sizes and formats"; an endpoint that does not return it (dynalite) is charged the size of the item
that was sent, which has the same attributes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

WRITE_UNIT_BYTES = 1024


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """The size DynamoDB bills for an item in its wire format ({"name": {"S": "..."}, ...}): each attribute
    name's UTF-8 length plus its value's size."""
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    ((kind, content),) = value.items()
    if kind == "S":
        return len(str(content).encode("utf-8"))
    if kind == "N":
        return _number_size(str(content))
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(part).encode("utf-8")) for part in content)
    if kind == "NS":
        return sum(_number_size(str(part)) for part in content)
    if kind == "BS":
        return sum(len(part) for part in content)
    if kind == "L":
        # 3 bytes for the list, 1 per element, plus the elements.
        return 3 + sum(1 + _value_size(element) for element in content)
    if kind == "M":
        return 3 + sum(1 + len(name.encode("utf-8")) + _value_size(element) for name, element in content.items())
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def _number_size(text: str) -> int:
    """About one byte per two significant digits, plus one (leading and trailing zeros do not count)."""
    digits = Decimal(text).normalize().as_tuple().digits
    significant = len(digits) or 1
    return math.ceil(significant / 2) + 1


def refused_write_units(existing: Mapping[str, Mapping[str, Any]] | None) -> float:
    """Write units a refused conditional write consumed, given the existing item (None: there was none)."""
    if not existing:
        return 1.0
    return float(max(1, math.ceil(item_size(existing) / WRITE_UNIT_BYTES)))
