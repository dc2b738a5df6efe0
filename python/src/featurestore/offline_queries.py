"""SQL that the sync runs on the offline store; the same text on DuckDB and Athena (Trino)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import pyarrow as pa

from featurestore.contract import FeatureGroup
from featurestore.key_encoding import decode_key, encode_key

COMPUTED_AT = "computed_at"


def _literal(value: datetime) -> str:
    return f"timestamp '{value.isoformat(sep=' ', timespec='microseconds')}'"


def latest_changed_rows_sql(
    group: FeatureGroup, since: datetime | None, now: datetime, valid_after: datetime | None = None
) -> str:
    """Each entity's row valid at `now` (its latest row with event time <= now), for the entities whose
    valid row may differ from what the previous sync wrote; every entity's valid row when `since` is None.

    A row holds from its event time until the entity's next row, and the feature groups pre-compute rows
    (a window's exit row lies up to the window's length ahead of the newest event), so "latest by event
    time" may not hold yet: rows with event time > now are never read. Per entity, with T its row valid
    at `now`, the value changed since the previous sync (computed_at marker `since`, sync time
    `valid_after`) exactly when T itself

    - was (re)written after the marker (`computed_at > since`: computed_at is when a row's values last
      changed, the feature groups' merges update only changed rows), or
    - has become valid since the previous sync (`event time > valid_after`), however long ago it was
      computed: the pre-computed rows.

    Otherwise T was already valid and unchanged at the previous sync, which wrote it (or a newer row).
    `valid_after` None (a marker from before syncs had a time) adds nothing by time.

    Only entities with such a row are ranked, and only from that row's event time on (T is at or after
    it), which keeps the window function off the rest of the table. Both reads of the relation carry the
    literal `event time <= now`, so Athena skips the partitions (days of event time) after `now`.
    """
    entity = list(group.entity)
    event_time = group.event_time
    columns = [*entity, event_time, *group.feature_names, COMPUTED_AT]
    relation = group.relation_name
    up_to_now = f"{event_time} <= {_literal(now)}"
    if since is None:
        selected = ", ".join(columns)
        partition = ", ".join(entity)
        return (
            f"select {selected} from (select {selected}, row_number() over (partition by {partition} "
            f"order by {event_time} desc) as row_rank from {relation} where {up_to_now}) as ranked "
            "where row_rank = 1"
        )
    changed = f"{COMPUTED_AT} > {_literal(since)}"
    if valid_after is not None and valid_after < now:
        changed = f"({changed} or {event_time} > {_literal(valid_after)})"
    qualified = ", ".join(f"rows.{column}" for column in columns)
    partition = ", ".join(f"rows.{column}" for column in entity)
    join = " and ".join(f"rows.{column} = changed.{column}" for column in entity)
    return (
        f"with changed as (select {', '.join(entity)}, min({event_time}) as changed_from from {relation} "
        f"where {up_to_now} and {changed} group by {', '.join(entity)}), "
        f"ranked as (select {qualified}, row_number() over (partition by {partition} "
        f"order by rows.{event_time} desc) as row_rank from {relation} as rows "
        f"inner join changed on {join} where rows.{event_time} >= changed.changed_from "
        f"and rows.{up_to_now}) "
        f"select {', '.join(columns)} from ranked where row_rank = 1 and {changed}"
    )


def _value_literal(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"entity key value {value!r} is not an integer or text")
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


def entities_with_rows_sql(group: FeatureGroup, keys: Sequence[Sequence[object]], now: datetime) -> str:
    """Which of these entities (key values in the contract's entity order) have a row with event time <= now.

    The full sync asks this just before deleting an entity it found online but not in its read, so that an
    entity that appeared offline after that read (and that another sync may already have written) is kept.
    The keys are literal VALUES (the same text on DuckDB and Athena); callers chunk long lists."""
    if not keys:
        raise ValueError("no keys to look up")
    entity = list(group.entity)
    rows = ", ".join("(" + ", ".join(_value_literal(part) for part in key) + ")" for key in keys)
    join = " and ".join(f"rows.{column} = wanted.{column}" for column in entity)
    return (
        f"select distinct {', '.join(f'rows.{column}' for column in entity)} from {group.relation_name} as rows "
        f"inner join (values {rows}) as wanted ({', '.join(entity)}) on {join} "
        f"where rows.{group.event_time} <= {_literal(now)}"
    )


RECHECK_CHUNK = 1000


def keys_with_rows(group: FeatureGroup, keys: Sequence[str], now: datetime, run: Callable[[str], pa.Table]) -> set[str]:
    """The encoded keys (key_encoding) among `keys` whose entity has a row with event time <= now, asked
    RECHECK_CHUNK keys at a time through `run` (a reader's query function)."""
    found: set[str] = set()
    for start in range(0, len(keys), RECHECK_CHUNK):
        chunk = [decode_key(key) for key in keys[start : start + RECHECK_CHUNK]]
        table = run(entities_with_rows_sql(group, chunk, now))
        if table.num_rows:
            columns = [table.column(column).to_pylist() for column in group.entity]
            found.update(encode_key(parts) for parts in zip(*columns, strict=True))
    return found
