"""The online store interface: each entity's values valid at the last sync's time, per online feature group.

Two backends implement it with the same semantics: `SqliteOnlineStore` (the embedded default, one file)
and `DynamoDBOnlineStore` (one on-demand table per group). Both are newest-wins: a record replaces the
stored one only when its event time is later, or equal with a later computed_at and other values (a
backfill changed the logic); an older, replayed or identical record is skipped and counted as stale.
Expiry is stored with each record (none for a group with `ttl: none`); readers treat a record whose
`expires_at` has passed as missing (DynamoDB deletes expired items lazily).

Each item also carries the tag of the group's state it was written under (GroupState: features and their
types, TTL, entity, event time, definition fingerprint). A record whose tag differs from the stored item's
always replaces it, and a full load deletes the items of another tag it has no record for: after any change
of the group, its next (full) sync rewrites every entity. See docs/online_store.md#group-state.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from featurestore.core.contract import FeatureGroup
from featurestore.core.timestamps import EPOCH, to_micros
from featurestore.core.value_codec import ValueType, digest, to_json, value_type

# Attribute names of an item's bookkeeping; features may not use them.
RESERVED_NAMES = frozenset({"_key", "_event_time", "_computed_at", "_digest", "_expires_at", "_state"})


@dataclass(frozen=True)
class GroupState:
    """What a group's online items are written under, stored with its sync marker: any difference from the
    current contract makes the next sync a full load that rewrites every entity (sync.py).

    `features`: (name, data_type) in contract order; `ttl_seconds`: None for `ttl: none`; `entity`: (column,
    data_type); `definition`: the fingerprint of the group's definition (what decides its values), None
    when unknown. Descriptions, owner and tags are not part of it: they change no stored value."""

    features: tuple[tuple[str, str], ...]
    ttl_seconds: int | None
    entity: tuple[tuple[str, str], ...]
    event_time: str
    definition: str | None = None

    @classmethod
    def of(cls, group: FeatureGroup, definition: str | None = None) -> GroupState:
        return cls(
            features=tuple((feature.name, feature.data_type) for feature in group.features),
            ttl_seconds=None if group.ttl is None else int(group.ttl.total_seconds()),
            entity=tuple(zip(group.entity, group.entity_types or ("",) * len(group.entity), strict=True)),
            event_time=group.event_time,
            definition=definition,
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "features": [list(pair) for pair in self.features],
                "ttl_seconds": self.ttl_seconds,
                "entity": [list(pair) for pair in self.entity],
                "event_time": self.event_time,
                "definition": self.definition,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> GroupState:
        data = json.loads(text)
        return cls(
            features=tuple((str(name), str(kind)) for name, kind in data["features"]),
            ttl_seconds=data["ttl_seconds"],
            entity=tuple((str(name), str(kind)) for name, kind in data["entity"]),
            event_time=str(data["event_time"]),
            definition=data.get("definition"),
        )

    @property
    def tag(self) -> str:
        """A short digest of the state, stored in every item (`_state`)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def changes_since(self, previous: GroupState | None) -> list[str]:
        """What changed since `previous`, in words, for the sync's message ([] when nothing did)."""
        if previous is None:
            return ["no group state stored (first sync since the online store kept one)"]
        changes = []
        old, new = dict(previous.features), dict(self.features)
        if removed := [name for name in old if name not in new]:
            changes.append(f"features removed: {', '.join(removed)}")
        if added := [name for name in new if name not in old]:
            changes.append(f"features added: {', '.join(added)}")
        if retyped := [f"{name} {old[name]} -> {new[name]}" for name in new if name in old and old[name] != new[name]]:
            changes.append(f"types changed: {', '.join(retyped)}")
        if previous.ttl_seconds != self.ttl_seconds:
            changes.append(f"ttl changed: {_ttl_words(previous.ttl_seconds)} -> {_ttl_words(self.ttl_seconds)}")
        if previous.entity != self.entity or previous.event_time != self.event_time:
            changes.append("entity or event time changed")
        if previous.definition != self.definition:
            changes.append("definition changed")
        if not changes and previous != self:
            changes.append("feature order changed")
        return changes


def _ttl_words(seconds: int | None) -> str:
    return "none" if seconds is None else f"{seconds}s"


@dataclass(frozen=True)
class OnlineRecord:
    """One entity's latest row, ready to write: `key` from key_encoding, times naive UTC.

    (event_time, computed_at) orders versions: a later event time wins; at the same event time, the row a
    later dbt run wrote (a backfill) wins if its values differ (`digest`)."""

    key: str
    event_time: datetime
    computed_at: datetime
    # None: the group's values never expire (`ttl: none`).
    expires_at: datetime | None
    values: Mapping[str, Any]
    digest: str
    # GroupState.tag of the state the record was built under ('' when none is known).
    state: str = ""


@dataclass(frozen=True)
class StoredRow:
    event_time: datetime
    expires_at: datetime | None
    values: Mapping[str, Any]

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True)
class SyncMarker:
    """How far a group's last successful sync got, stored with the online data (one item, written after
    every write of the sync was confirmed, so both fields move together or not at all).

    `computed_at`: the largest computed_at that sync read; later syncs read rows computed after it.
    `valid_until`: that sync's `now`; every row with event time <= it was considered, so later syncs also
    read the rows whose event time has passed since (pre-computed rows that have become valid). None for
    markers written before syncs had a `now` (they wrote each entity's newest row, whatever its time)."""

    computed_at: datetime
    valid_until: datetime | None
    # The group's state the stored items were written under; None for markers stored before states were.
    state: GroupState | None = None


class StoredVersion(NamedTuple):
    """What newest-wins compares of a stored item: event time and computed_at (microseconds), digest, and
    the tag of the group state it was written under ('' for items written before tags were)."""

    event_time: int
    computed_at: int
    digest: str
    state: str = ""


def is_newer(record: OnlineRecord, stored: StoredVersion | None) -> bool:
    """The newest-wins rule: write `record` unless the stored version is as new (or the same values)."""
    if stored is None or stored.state != record.state:
        # Written under another definition of the group: replaced whatever its time.
        return True
    event_time = to_micros(record.event_time)
    return stored.event_time < event_time or (
        stored.event_time == event_time
        and stored.computed_at < to_micros(record.computed_at)
        and stored.digest != record.digest
    )


class ItemCount(NamedTuple):
    """The items of a group's online table; `exact` is False for an estimate (DynamoDB's ItemCount)."""

    items: int
    exact: bool


class Unbacked(NamedTuple):
    """A stored item that a full load would leave in place, and that may no longer come from any offline
    row: `record` is the entity's row valid now (None: the entity has none), `version` what is stored."""

    key: str
    version: StoredVersion
    record: OnlineRecord | None


def unbacked_candidates(
    versions: Mapping[str, StoredVersion], records: Sequence[OnlineRecord], full_load_at: datetime
) -> list[Unbacked]:
    """The stored items a full load at `full_load_at` does not overwrite although they differ from its
    records: entities without a record, and entities whose stored event time is later than their record's
    (newest-wins keeps those). Each is either a value a backfill removed offline, or one written after the
    full load's read; the sync asks the offline store which (sync.py). Items stored with an event time after
    `full_load_at` (a later sync wrote them) are not candidates."""
    by_key = {record.key: record for record in records}
    horizon = to_micros(full_load_at)
    state = records[0].state if records else None
    candidates = []
    for key, version in versions.items():
        if version.event_time > horizon or (state is not None and version.state != state):
            continue
        record = by_key.get(key)
        if record is None or version.event_time > to_micros(record.event_time):
            candidates.append(Unbacked(key, version, record))
    return candidates


def obsolete_items(
    versions: Mapping[str, StoredVersion], records: Sequence[OnlineRecord], state: str
) -> list[Unbacked]:
    """The stored items of a group state other than `state` that a full load has no record for (the entity
    has no row valid at its time): written under another definition, they are deleted (the records of
    the other entities replace theirs, is_newer)."""
    keys = {record.key for record in records}
    return [
        Unbacked(key, version, None) for key, version in versions.items() if version.state != state and key not in keys
    ]


@dataclass
class WriteStats:
    written: int = 0
    stale: int = 0
    # Entities deleted because they are gone offline (OnlineStore.replace_unchanged).
    deleted: int = 0
    write_units: float = 0.0
    read_units: float = 0.0
    retries: int = 0
    # A full load's candidates for repair (OnlineStore.write, unbacked_candidates).
    unbacked: list[Unbacked] = field(default_factory=list)
    # A full load's stored items of another group state without a record (obsolete_items).
    obsolete: list[Unbacked] = field(default_factory=list)

    def add(self, other: WriteStats) -> None:
        self.written += other.written
        self.stale += other.stale
        self.deleted += other.deleted
        self.write_units += other.write_units
        self.read_units += other.read_units
        self.retries += other.retries
        self.unbacked.extend(other.unbacked)
        self.obsolete.extend(other.obsolete)

    def count_retry(self) -> None:
        self.retries += 1


ProgressCallback = Callable[[int], None]


class OnlineStore(Protocol):
    def write(
        self,
        group: FeatureGroup,
        records: Sequence[OnlineRecord],
        progress: ProgressCallback | None = None,
        *,
        full_load_at: datetime | None = None,
        state: str | None = None,
    ) -> WriteStats:
        """Write newest-wins; returns only once every record is confirmed written or skipped as stale.

        `full_load_at`: the records are every entity's row valid at that time (a full load). The store then
        compares them with all its stored versions at once (one read, instead of one per record), and lists
        in `unbacked` the stored items it left in place that differ from the records (unbacked_candidates),
        and with `state` (the records' group-state tag) in `obsolete` the items of another state it has no
        record for (obsolete_items); it does not touch them.

        Raises SyncGaveUpError when retries of throttling or unprocessed items are exhausted."""
        ...

    def replace_unchanged(self, group: FeatureGroup, items: Sequence[Unbacked]) -> WriteStats:
        """Replace each item by its record, or delete it (no record), only if the stored item still has the
        version seen; a rewritten one stays. Counts replacements as written, deletions as deleted."""
        ...

    def read(self, group: FeatureGroup, keys: Sequence[str], features: Sequence[str]) -> list[StoredRow | None]:
        """The stored rows for `keys` (encoded), in order, with only `features`; None where absent."""
        ...

    def get_marker(self, group: str) -> SyncMarker | None:
        """How far the last successful sync of `group` got; None: never synced (or forgotten)."""
        ...

    def set_marker(self, group: str, marker: SyncMarker | None) -> None:
        """Record (or with None, forget) the sync marker of `group`, both fields in one write."""
        ...

    def drop(self, group: str) -> bool:
        """Delete the group's stored values and marker; False when there was nothing."""
        ...

    def item_count(self, group: str, *, exact: bool = False) -> ItemCount | None:
        """How many entities the group's table holds; None: no table. DynamoDB answers from its ItemCount,
        refreshed about every six hours, unless `exact` (a Scan of the whole table)."""
        ...

    def close(self) -> None: ...


class GroupCodec:
    """What both backends need of a group: its feature types, and records built from offline rows."""

    def __init__(self, group: FeatureGroup, state: str = "") -> None:
        self.group = group
        self.state = state
        self.types: dict[str, ValueType] = {f.name: value_type(f.data_type) for f in group.features}
        clash = RESERVED_NAMES & set(self.types)
        if clash:
            from featurestore.core.errors import ContractError

            raise ContractError(group.name, "columns", f"{sorted(clash)} are reserved by the online store; rename")
        self._typed = list(self.types.items())

    def record(
        self, key: str, event_time: datetime, values: Mapping[str, Any], computed_at: datetime = EPOCH
    ) -> OnlineRecord:
        json_values = [to_json(values[name], vtype) for name, vtype in self._typed]
        return OnlineRecord(
            key=key,
            event_time=event_time,
            computed_at=computed_at,
            expires_at=self.group.expires_at(event_time),
            values=values,
            digest=digest(json_values),
            state=self.state,
        )
