{#- Returns a SELECT of each entity's values valid at `at_sql` (a SQL timestamp expression, UTC): the entity's
    newest row of `relation` with event time <= at_sql, and only while that row is younger than the TTL
    (event time + TTL > at_sql, the rule of point_in_time_join and of the online store). An entity whose
    newest such row has expired is left out. Rows pre-computed for later times (the groups emit a row when
    events leave a window) are never returned before their time.

    Only rows in (at_sql - TTL, at_sql] can qualify, so the scan is bounded by that range: with a literal
    `at_sql`, Athena prunes the table's day partitions to it. Columns: the entity, the event time, the
    features (every declared column but computed_at). -#}
{% macro feature_group_values_at(relation, contract, columns, at_sql) %}
    {%- set parts = featurestore.feature_group_view_parts(relation, contract, columns) -%}
    {%- set entity, ttl, features = parts.entity, parts.ttl, parts.features -%}
    with

    rows_in_ttl as (

        select
            {{ (entity + [contract.event_time] + features) | join(',\n            ') }}
        from {{ relation }}
        where
            {{ contract.event_time }} <= {{ at_sql }}
            {%- if ttl is not none %}
            and {{ contract.event_time }} > {{ at_sql }} - {{ ttl }}
            {%- endif %}

    ),

    ranked as (

        select
            *,
            row_number() over (
                partition by {{ entity | join(', ') }} order by {{ contract.event_time }} desc
            ) as recency_rank
        from rows_in_ttl

    ),

    final as (

        select
            {{ (entity + [contract.event_time] + features) | join(',\n            ') }}
        from ranked
        where recency_rank = 1

    )

    select * from final
{%- endmacro %}
