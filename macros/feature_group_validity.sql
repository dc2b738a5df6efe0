{#- Returns a SELECT of every row of a feature group with the interval in which its values hold: from its
    event time up to `valid_until` (exclusive), the entity's next row or the row's expiry (event time + TTL),
    whichever comes first. "As of t" is then a plain filter, `<event_time> <= t and t < valid_until`, that a
    BI tool can parameterise; at most one row per entity passes it. Columns: the entity, the event time,
    the features (every declared column but computed_at), valid_until.

    The next row comes from a window over the whole table (lead per entity), so each query reads every row:
    for one time t on Athena, feature_group_as_of() (or the <group>__current view) reads far less. -#}
{% macro feature_group_validity(relation, contract, columns) %}
    {%- set parts = featurestore.feature_group_view_parts(relation, contract, columns) -%}
    {%- set entity, ttl, features = parts.entity, parts.ttl, parts.features -%}
    with

    feature_rows as (

        select
            {{ (entity + [contract.event_time] + features) | join(',\n            ') }},
            lead({{ contract.event_time }}) over (
                partition by {{ entity | join(', ') }} order by {{ contract.event_time }}
            ) as next_event_at
        from {{ relation }}

    ),

    final as (

        select
            {{ (entity + [contract.event_time] + features) | join(',\n            ') }},
            {%- if ttl is none %}
            next_event_at as valid_until
            {%- else %}
            least(
                coalesce(next_event_at, {{ contract.event_time }} + {{ ttl }}),
                {{ contract.event_time }} + {{ ttl }}
            ) as valid_until
            {%- endif %}
        from feature_rows

    )

    select * from final
{%- endmacro %}
