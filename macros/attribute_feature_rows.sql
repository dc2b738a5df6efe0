{#- Returns the SELECT of a declarative attribute group (see feature_group()): from the analyst's rows of
    (entity, valid-from time, attribute columns), one row per entity each time its attribute values change
    (null-safe), so an attribute's value as of t is the entity's latest row at or before t. An incremental
    run reads the SELECT's rows from `bounds.recompute_from` on and compares the first of them with the
    entity's latest stored row before that time (one row per entity: attribute tables are small).

    A range backfill [S, E) (`bounds.is_backfill`) reads the SELECT's rows before E and writes, besides the
    changes inside the range:
    - at S, for each entity whose value as of S (its latest SELECT row at or before S; null attributes when
      it has none but a stored row) differs from its stored row before S, a row with that value;
    - at E, for each entity whose stored row valid at E does not start at E and differs from its value just
      before E after this run, a row restoring the stored values (null attributes when nothing is stored:
      the kept history has no value there). -#}
{% macro attribute_feature_rows(spec, events_sql, bounds) %}
    {%- set entity_list = spec.entity | join(', ') -%}
    {%- set history = 'partition by ' ~ entity_list ~ ' order by ' ~ spec.event_time -%}
    {%- set newest_first = 'partition by ' ~ entity_list ~ ' order by ' ~ spec.event_time ~ ' desc' -%}
    {%- set columns = spec.columns -%}
    {%- set backfill = bounds.is_backfill -%}
    {%- if backfill -%}
        {%- set start_at, end_at = bounds.recompute_from, bounds.boundary_end -%}
        {%- set key_match = [] -%}
        {%- for key in spec.entity -%}
            {%- do key_match.append('{left}.' ~ key ~ ' = {right}.' ~ key) -%}
        {%- endfor -%}
        {%- set key_match = key_match | join(' and ') -%}
    {%- endif -%}

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
    {#- A backfill needs each entity's value as of its start: the SELECT's rows before it too. #}
    where {{ featurestore.in_time_range(spec.valid_from, none if backfill else bounds.recompute_from, bounds.recompute_until) }}

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
{%- if backfill %}

{#- Each entity's value as of the start, at the start. -#}
fg_start as (

    select
        {{ entity_list }},
        {{ featurestore.cast_timestamp(featurestore.timestamp_literal(start_at)) }} as {{ spec.event_time }},
        {{ columns | join(', ') }},
        false as fg_is_stored
    from (
        select *, row_number() over ({{ newest_first }}) as fg_newest
        from fg_source
        where {{ spec.event_time }} <= {{ featurestore.timestamp_literal(start_at) }}
    ) as fg_history
    where fg_newest = 1

    union all

    select
        {% for key in spec.entity -%}
        fg_stored.{{ key }},
        {% endfor -%}
        {{ featurestore.cast_timestamp(featurestore.timestamp_literal(start_at)) }} as {{ spec.event_time }},
        {% for column in columns -%}
        null as {{ column }},
        {% endfor -%}
        false as fg_is_stored
    from fg_stored
    where not exists (
        select 1
        from fg_source
        where
            {{ key_match.format(left='fg_source', right='fg_stored') }}
            and fg_source.{{ spec.event_time }} <= {{ featurestore.timestamp_literal(start_at) }}
    )

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
        {%- if backfill %}
        select * from fg_start
        union all
        select * from fg_source
        where {{ spec.event_time }} > {{ featurestore.timestamp_literal(start_at) }}
        {%- else %}
        select * from fg_source
        {%- endif %}
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
{%- if backfill %},

{#- The stored row valid at the end, before this run. -#}
fg_stored_end as (

    select *
    from (
        select
            {{ entity_list }},
            {{ spec.event_time }},
            {{ columns | join(', ') }},
            row_number() over ({{ newest_first }}) as fg_newest
        from {{ this }}
        where {{ spec.event_time }} <= {{ featurestore.timestamp_literal(end_at) }}
    ) as fg_history
    where fg_newest = 1

),

{#- The entity's value just before the end once this run is merged. -#}
fg_before_end as (

    select *
    from (
        select *, row_number() over ({{ newest_first }}) as fg_newest
        from fg_compared
    ) as fg_history
    where fg_newest = 1

),

fg_end as (

    select
        {% for key in spec.entity -%}
        fg_stored_end.{{ key }},
        {% endfor -%}
        {{ featurestore.cast_timestamp(featurestore.timestamp_literal(end_at)) }} as {{ spec.event_time }},
        {% for column in columns -%}
        fg_stored_end.{{ column }}{{ ',' if not loop.last }}
        {% endfor -%}
    from fg_stored_end
    left join fg_before_end
        on {{ key_match.format(left='fg_stored_end', right='fg_before_end') }}
    where
        fg_stored_end.{{ spec.event_time }} < {{ featurestore.timestamp_literal(end_at) }}
        and (
            fg_before_end.{{ spec.entity[0] }} is null
            {% for column in columns -%}
            or fg_stored_end.{{ column }} is distinct from fg_before_end.{{ column }}
            {% endfor -%}
        )

    union all

    select
        {% for key in spec.entity -%}
        fg_before_end.{{ key }},
        {% endfor -%}
        {{ featurestore.cast_timestamp(featurestore.timestamp_literal(end_at)) }} as {{ spec.event_time }},
        {% for column in columns -%}
        null as {{ column }}{{ ',' if not loop.last }}
        {% endfor -%}
    from fg_before_end
    left join fg_stored_end
        on {{ key_match.format(left='fg_before_end', right='fg_stored_end') }}
    where
        fg_stored_end.{{ spec.entity[0] }} is null
        and (
            false
            {% for column in columns -%}
            or fg_before_end.{{ column }} is not null
            {% endfor -%}
        )

),

fg_rows as (

    select * from fg_features
    union all
    select * from fg_end

)

{{ featurestore.keep_computed_at(spec, 'fg_rows', bounds) }}
{%- else %}

{{ featurestore.keep_computed_at(spec, 'fg_features', bounds) }}
{%- endif %}
{%- endmacro %}
