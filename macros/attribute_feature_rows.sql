{#- Returns the SELECT of a declarative attribute group (see feature_group()): from the analyst's rows of
    (entity, valid-from time, attribute columns), one row per entity each time its attribute values change
    (null-safe), so an attribute's value as of t is the entity's latest row at or before t. An incremental
    run reads the SELECT's rows from `bounds.recompute_from` on and compares the first of them with the
    entity's latest stored row before that time (one row per entity: attribute tables are small). -#}
{% macro attribute_feature_rows(spec, events_sql, bounds) %}
    {%- set entity_list = spec.entity | join(', ') -%}
    {%- set history = 'partition by ' ~ entity_list ~ ' order by ' ~ spec.event_time -%}
    {%- set columns = spec.columns -%}

with

fg_source as (

    select distinct
        {{ entity_list }},
        {{ featurestore.cast_timestamp(spec.valid_from) }} as {{ spec.event_time }},
        {{ columns | join(', ') }},
        false as fg_is_stored
    from (

{{ events_sql }}

    ) as fg_rows
    where {{ featurestore.in_time_range(spec.valid_from, bounds.recompute_from, bounds.recompute_until) }}

),
{%- if bounds.recompute_from is not none %}

fg_stored as (

    select
        {{ entity_list }},
        {{ spec.event_time }},
        {{ columns | join(', ') }},
        true as fg_is_stored
    from (
        select
            *,
            row_number() over (partition by {{ entity_list }} order by {{ spec.event_time }} desc) as fg_newest
        from {{ this }}
        where {{ featurestore.in_time_range(spec.event_time, none, bounds.recompute_from) }}
    ) as fg_history
    where fg_newest = 1

),
{%- endif %}

fg_compared as (

    select
        *,
        row_number() over ({{ history }}) as fg_position,
        {% for column in columns -%}
        lag({{ column }}) over ({{ history }}) as fg_previous_{{ loop.index0 }}{{ ',' if not loop.last }}
        {% endfor -%}
    from (
        select * from fg_source
        {%- if bounds.recompute_from is not none %}
        union all
        select * from fg_stored
        {%- endif %}
    ) as fg_candidates

),

fg_features as (

    select
        {{ entity_list }},
        {{ spec.event_time }},
        {{ columns | join(', ') }}
    from fg_compared
    where
        not fg_is_stored
        and (
            fg_position = 1
            {% for column in columns -%}
            or {{ column }} is distinct from fg_previous_{{ loop.index0 }}
            {% endfor -%}
        )

)

{{ featurestore.keep_computed_at(spec, 'fg_features', bounds) }}
{%- endmacro %}
