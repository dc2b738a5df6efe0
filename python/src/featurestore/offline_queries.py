"""SQL that the sync runs on the offline store; the same text on DuckDB and Athena (Trino)."""

from __future__ import annotations

from datetime import datetime

from featurestore.contract import FeatureGroup

COMPUTED_AT = "computed_at"


def _literal(value: datetime) -> str:
    return f"timestamp '{value.isoformat(sep=' ', timespec='microseconds')}'"


def latest_changed_rows_sql(group: FeatureGroup, since: datetime | None) -> str:
    """Each entity's latest row (by event time), for the entities whose latest row was (re)written after
    `since` (computed_at > since); every entity's latest row when `since` is None.

    `computed_at` is when a row's values last changed (the feature groups' merges update only changed
    rows), so this is exactly the set of entities whose online value may differ. Only entities with a row
    changed after `since` are ranked, and only from that row's event time on: their latest row is at or
    after it, which keeps the window function off the rest of the table.
    """
    entity = list(group.entity)
    columns = [*entity, group.event_time, *group.feature_names, COMPUTED_AT]
    relation = group.relation_name
    if since is None:
        selected = ", ".join(columns)
        partition = ", ".join(entity)
        return (
            f"select {selected} from (select {selected}, row_number() over (partition by {partition} "
            f"order by {group.event_time} desc) as row_rank from {relation}) as ranked where row_rank = 1"
        )
    qualified = ", ".join(f"rows.{column}" for column in columns)
    partition = ", ".join(f"rows.{column}" for column in entity)
    join = " and ".join(f"rows.{column} = changed.{column}" for column in entity)
    return (
        f"with changed as (select {', '.join(entity)}, min({group.event_time}) as changed_from from {relation} "
        f"where {COMPUTED_AT} > {_literal(since)} group by {', '.join(entity)}), "
        f"ranked as (select {qualified}, row_number() over (partition by {partition} "
        f"order by rows.{group.event_time} desc) as row_rank from {relation} as rows "
        f"inner join changed on {join} where rows.{group.event_time} >= changed.changed_from) "
        f"select {', '.join(columns)} from ranked where row_rank = 1 and {COMPUTED_AT} > {_literal(since)}"
    )
