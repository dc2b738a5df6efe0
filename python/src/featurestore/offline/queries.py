"""SQL that the offline engines run for the sync and `featurestore show`; the same text on DuckDB and Athena
(Trino). `rows_valid_at_sql` is the one builder of "each entity's row valid at T" in Python (the dbt
macros point_in_time_join and its helpers are the SQL side's)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import pyarrow as pa

from featurestore.core.contract import FeatureGroup
from featurestore.core.errors import EntityKeyError
from featurestore.core.identifiers import quote_identifier as q
from featurestore.core.keys import coerce_key_part, decode_key, encode_key
from featurestore.core.timestamps import naive_utc, sql_timestamp

COMPUTED_AT = "computed_at"


def rows_valid_at_sql(
    columns: Sequence[str],
    entity: Sequence[str],
    event_time: str,
    source: str,
    conditions: Sequence[str],
    *,
    alias: str = "",
    having: str = "",
) -> str:
    """Each entity's row valid at a time T: its latest row by `event_time` among the rows of `source` that
    meet `conditions`, which hold `event_time <= T` (as a literal, so Athena prunes partitions after T).
    `alias`: the name `source` gives the relation (columns are qualified by it inside); `having`: a
    condition on the chosen rows."""
    prefix = f"{alias}." if alias else ""
    selected = ", ".join(columns)
    ranked = ", ".join(f"{prefix}{column}" for column in columns)
    partition = ", ".join(f"{prefix}{column}" for column in entity)
    return (
        f"select {selected} from (select {ranked}, row_number() over (partition by {partition} "
        f"order by {prefix}{event_time} desc) as row_rank from {source} where {' and '.join(conditions)}) "
        f"as ranked where row_rank = 1" + (f" and {having}" if having else "")
    )


def latest_changed_rows_sql(
    group: FeatureGroup,
    since: datetime | None,
    now: datetime,
    valid_after: datetime | None = None,
    relation: str | None = None,
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
    `relation` (default: the group's relation_name) is the table to read. Every identifier is quoted.
    """
    entity = [q(column) for column in group.entity]
    event_time = q(group.event_time)
    columns = [*entity, event_time, *(q(name) for name in group.feature_names), q(COMPUTED_AT)]
    relation = relation or group.relation_name
    up_to_now = f"{event_time} <= {sql_timestamp(now)}"
    if since is None:
        return rows_valid_at_sql(columns, entity, event_time, relation, [up_to_now])
    changed = f"{q(COMPUTED_AT)} > {sql_timestamp(since)}"
    if valid_after is not None and valid_after < now:
        changed = f"({changed} or {event_time} > {sql_timestamp(valid_after)})"
    join = " and ".join(f"rows.{column} = changed.{column}" for column in entity)
    return (
        f"with changed as (select {', '.join(entity)}, min({event_time}) as changed_from from {relation} "
        f"where {up_to_now} and {changed} group by {', '.join(entity)}) "
        + rows_valid_at_sql(
            columns,
            entity,
            event_time,
            f"{relation} as rows inner join changed on {join}",
            [f"rows.{event_time} >= changed.changed_from", f"rows.{up_to_now}"],
            alias="rows",
            having=changed,
        )
    )


def preview_sql(
    group: FeatureGroup,
    limit: int,
    as_of: datetime | None = None,
    key: Sequence[object] | None = None,
    relation: str | None = None,
) -> str:
    """`featurestore show`: rows of a group, newest first; with `as_of`, each entity's row valid then (the
    row a sync with that `now` puts online), left out once older than the TTL (as the <group>__current view
    and online lookups do); with `key` (values in the group's entity order, text accepted for integers), only
    that entity's rows. `relation` (default: the group's relation_name) is the table to read. Every
    identifier is quoted."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    entity = [q(column) for column in group.entity]
    event_time = q(group.event_time)
    columns = [*entity, event_time, *(q(name) for name in group.feature_names)]
    relation = relation or group.relation_name
    conditions = []
    if key is not None:
        if len(key) != len(entity):
            raise EntityKeyError(
                f"feature group '{group.name}' is keyed by {', '.join(group.entity)}: {len(entity)} value(s), "
                f"got {len(key)}"
            )
        types = group.entity_types or ("",) * len(entity)
        for column, data_type, value in zip(group.entity, types, key, strict=True):
            part = coerce_key_part(value, data_type, group=group.name, column=column)
            conditions.append(f"{q(column)} = {_value_literal(part)}")
    if as_of is not None:
        conditions.append(f"{event_time} <= {sql_timestamp(as_of)}")
        # The newest row in (as_of - TTL, as_of] is the newest at or before as_of unless that one expired.
        if group.ttl is not None:  # `ttl: none`: never expired
            conditions.append(f"{event_time} > {sql_timestamp(naive_utc(as_of) - group.ttl)}")
        rows = rows_valid_at_sql(columns, entity, event_time, relation, conditions)
    else:
        where = f" where {' and '.join(conditions)}" if conditions else ""
        rows = f"select {', '.join(columns)} from {relation}{where}"
    return f"{rows} order by {event_time} desc, {', '.join(entity)} limit {int(limit)}"


def _value_literal(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"entity key value {value!r} is not an integer or text")
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


def existing_rows_sql(
    group: FeatureGroup, rows: Sequence[tuple[Sequence[object], datetime]], relation: str | None = None
) -> str:
    """Which of these rows (entity key values in the contract's order, event time) exist offline.

    A full sync asks this before it replaces or deletes a stored value that its read did not return: a
    value whose row is gone (a backfill removed it) is repaired, one whose row exists (it appeared after
    the read, and another sync may have written it) stays. The rows are literal VALUES (the same text on
    DuckDB and Athena), and the event time is bounded by literals too, so Athena reads only the partitions
    of those times; callers chunk long lists."""
    if not rows:
        raise ValueError("no rows to look up")
    entity = [q(column) for column in group.entity]
    event_time = q(group.event_time)
    values = ", ".join(
        "(" + ", ".join([*(_value_literal(part) for part in key), sql_timestamp(at)]) + ")" for key, at in rows
    )
    times = [at for _, at in rows]
    join = " and ".join(f"rows.{column} = wanted.{column}" for column in [*entity, event_time])
    relation = relation or group.relation_name
    return (
        f"select {', '.join(f'rows.{column}' for column in [*entity, event_time])} from {relation} "
        f"as rows inner join (values {values}) as wanted ({', '.join([*entity, event_time])}) on {join} "
        f"where rows.{event_time} >= {sql_timestamp(min(times))} and rows.{event_time} <= {sql_timestamp(max(times))}"
    )


RECHECK_CHUNK = 1000


def rows_that_exist(
    group: FeatureGroup,
    rows: Sequence[tuple[str, datetime]],
    run: Callable[[str], pa.Table],
    relation: str | None = None,
) -> set[tuple[str, datetime]]:
    """The (encoded key, event time) pairs among `rows` that exist offline, asked RECHECK_CHUNK at a time
    through `run` (a reader's query function). Sorted by time first, so each chunk spans few partitions."""
    ordered = sorted(rows, key=lambda row: (row[1], row[0]))
    found: set[tuple[str, datetime]] = set()
    for start in range(0, len(ordered), RECHECK_CHUNK):
        chunk = [(decode_key(key), at) for key, at in ordered[start : start + RECHECK_CHUNK]]
        table = run(existing_rows_sql(group, chunk, relation))
        if table.num_rows:
            keys = zip(*(table.column(column).to_pylist() for column in group.entity), strict=True)
            times = table.column(group.event_time).to_pylist()
            found.update((encode_key(parts), naive_utc(at)) for parts, at in zip(keys, times, strict=True))
    return found
