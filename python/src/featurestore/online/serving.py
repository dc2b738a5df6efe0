"""Online lookups: the latest values of named features for a list of entities, in request order."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import pyarrow as pa

from featurestore.core.contract import FeatureGroup, FeatureRef
from featurestore.core.errors import EntityKeyError, FeatureGroupNotOnlineError, UnknownFeatureError
from featurestore.core.keys import key_of
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.core.timestamps import naive_utc
from featurestore.online.base import OnlineStore, StoredRow


class ValueStatus(StrEnum):
    PRESENT = "PRESENT"
    NOT_FOUND = "NOT_FOUND"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class OnlineFeatures:
    """The answer to one lookup: row i holds the values for entity row i, in the order of `features`."""

    features: tuple[str, ...]
    entity_rows: tuple[Mapping[str, Any], ...]
    values: tuple[tuple[Any, ...], ...]
    statuses: tuple[tuple[ValueStatus, ...], ...]

    def to_dict(self) -> dict[str, list[Any]]:
        """Column-wise: each feature's values, plus `<feature>__status` with each value's status."""
        columns: dict[str, list[Any]] = {}
        for index, name in enumerate(self.features):
            columns[name] = [row[index] for row in self.values]
            columns[f"{name}__status"] = [str(row[index]) for row in self.statuses]
        return columns

    def to_records(self) -> list[dict[str, Any]]:
        return [
            {"values": dict(zip(self.features, values, strict=True)), "statuses": [str(s) for s in statuses]}
            for values, statuses in zip(self.values, self.statuses, strict=True)
        ]

    def to_arrow(self) -> pa.Table:
        return pa.table(self.to_dict())


@dataclass(frozen=True)
class _GroupRequest:
    group: FeatureGroup
    features: tuple[str, ...]
    keys: tuple[str, ...]


def plan_lookup(
    catalog: FeatureGroupCatalog, features: Sequence[str], entity_rows: Sequence[Mapping[str, Any]]
) -> tuple[tuple[FeatureRef, ...], list[_GroupRequest]]:
    """Check the request before any I/O; errors name the culprit."""
    if isinstance(features, str):
        raise UnknownFeatureError(features, "pass a list of feature references, not one string")
    refs = tuple(FeatureRef.parse(reference) for reference in features)
    if not refs:
        raise UnknownFeatureError("", "no features requested")
    by_group: dict[str, list[str]] = {}
    for ref in refs:
        group = catalog.resolve(ref)
        if not group.online:
            raise FeatureGroupNotOnlineError(group.name)
        names = by_group.setdefault(group.name, [])
        if ref.feature not in names:
            names.append(ref.feature)
    requests = []
    for name, names in by_group.items():
        group = catalog.get(name)
        keys = []
        for index, row in enumerate(entity_rows):
            try:
                keys.append(key_of(group, row))
            except EntityKeyError as error:
                raise EntityKeyError(f"entity row {index}: {error}") from None
        requests.append(_GroupRequest(group, tuple(names), tuple(keys)))
    return refs, requests


def get_online_features(
    catalog: FeatureGroupCatalog,
    store: OnlineStore,
    features: Sequence[str],
    entity_rows: Sequence[Mapping[str, Any]],
    *,
    now: Callable[[], datetime],
    executor: Executor | None = None,
) -> OnlineFeatures:
    """Fetch every requested group (concurrently with an executor) and assemble rows in request order."""
    refs, requests = plan_lookup(catalog, features, entity_rows)

    def fetch(request: _GroupRequest) -> list[StoredRow | None]:
        return store.read(request.group, request.keys, request.features)

    if executor is not None and len(requests) > 1:
        results = list(executor.map(fetch, requests))
    else:
        results = [fetch(request) for request in requests]
    # An injected clock may be timezone-aware; stored expiry is naive UTC.
    at = naive_utc(now())
    stored = {request.group.name: rows for request, rows in zip(requests, results, strict=True)}
    values = []
    statuses = []
    for index in range(len(entity_rows)):
        row_values: list[Any] = []
        row_statuses: list[ValueStatus] = []
        for ref in refs:
            found = stored[ref.group][index]
            if found is None:
                row_values.append(None)
                row_statuses.append(ValueStatus.NOT_FOUND)
            elif found.expired(at):
                row_values.append(None)
                row_statuses.append(ValueStatus.EXPIRED)
            else:
                row_values.append(found.values[ref.feature])
                row_statuses.append(ValueStatus.PRESENT)
        values.append(tuple(row_values))
        statuses.append(tuple(row_statuses))
    return OnlineFeatures(
        features=tuple(str(ref) for ref in refs),
        entity_rows=tuple(dict(row) for row in entity_rows),
        values=tuple(values),
        statuses=tuple(statuses),
    )
