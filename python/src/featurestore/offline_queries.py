"""SQL that the sync runs on the offline store; the same text on DuckDB and Athena (Trino)."""

from __future__ import annotations

from datetime import datetime

from featurestore.contract import FeatureGroup

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
