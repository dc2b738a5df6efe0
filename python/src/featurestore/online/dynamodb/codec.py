"""How a record is stored in DynamoDB: an item's attributes, its version, and the sync marker's item."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from featurestore.core.timestamps import from_micros, to_micros
from featurestore.core.value_codec import ValueType, from_dynamodb, to_dynamodb
from featurestore.online.base import GroupState, OnlineRecord, StoredRow, StoredVersion, SyncMarker

KEY = "_key"
EVENT_TIME = "_event_time"
COMPUTED_AT = "_computed_at"
DIGEST = "_digest"
EXPIRES_AT = "_expires_at"
STATE = "_state"
# What newest-wins compares (online.base.is_newer), as expression attribute names.
VERSION_NAMES = {"#k": KEY, "#t": EVENT_TIME, "#c": COMPUTED_AT, "#d": DIGEST, "#s": STATE}
MARKER_KEY = "group_name"


def item_of(types: dict[str, ValueType], record: OnlineRecord) -> dict[str, Any]:
    """The item of `record`, its features typed by `types` (GroupCodec.types)."""
    item = {name: to_dynamodb(record.values[name], vtype) for name, vtype in types.items()}
    item[KEY] = {"S": record.key}
    item[EVENT_TIME] = {"N": str(to_micros(record.event_time))}
    item[COMPUTED_AT] = {"N": str(to_micros(record.computed_at))}
    item[DIGEST] = {"S": record.digest}
    item[STATE] = {"S": record.state}
    # No expiry attribute for `ttl: none`: DynamoDB's TTL never deletes the item.
    if record.expires_at is not None:
        item[EXPIRES_AT] = {"N": str(to_micros(record.expires_at) // 1_000_000)}
    return item


def version_of(item: dict[str, Any]) -> StoredVersion:
    # Items written before group states have no _state.
    state = item.get(STATE, {}).get("S", "")
    return StoredVersion(int(item[EVENT_TIME]["N"]), int(item[COMPUTED_AT]["N"]), item[DIGEST]["S"], state)


def row_of(item: dict[str, Any], types: dict[str, ValueType], features: Sequence[str]) -> StoredRow:
    """The stored row of an item read with `features` (an attribute absent from the item is a null)."""
    return StoredRow(
        event_time=from_micros(int(item[EVENT_TIME]["N"])),
        expires_at=from_micros(int(item[EXPIRES_AT]["N"]) * 1_000_000) if EXPIRES_AT in item else None,
        values={name: from_dynamodb(item[name], types[name]) if name in item else None for name in features},
    )


def marker_item(group: str, marker: SyncMarker) -> dict[str, Any]:
    """The markers table's item of a group: both fields in one item, so one PutItem changes both or neither."""
    item = {MARKER_KEY: {"S": group}, "marker": {"S": marker.computed_at.isoformat(timespec="microseconds")}}
    if marker.valid_until is not None:
        item["valid_until"] = {"S": marker.valid_until.isoformat(timespec="microseconds")}
    if marker.state is not None:
        item["state"] = {"S": marker.state.to_json()}
    return item


def marker_of(item: dict[str, Any]) -> SyncMarker:
    # Items written before syncs had a `now` have no valid_until.
    valid_until = item.get("valid_until", {}).get("S")
    state = item.get("state", {}).get("S")
    return SyncMarker(
        computed_at=datetime.fromisoformat(item["marker"]["S"]),
        valid_until=None if valid_until is None else datetime.fromisoformat(valid_until),
        state=None if state is None else GroupState.from_json(state),
    )
