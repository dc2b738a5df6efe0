{#- Returns the CTEs (comma-separated, no leading `with`) that finish a range backfill of a windowed group
    (see windowed_feature_rows()), ending with `fg_rows`: the range's recomputed rows plus the boundary
    rows, with the entity, the event time and the value columns `outputs`. Reads `fg_features` (the rows
    and candidates with `fg_boundary`: 0 recomputed, 1 start candidate, 2 end row with empty windows),
    `fg_stored_start` and, when `end_at` is not none, `fg_stored_end` (the stored rows next to the start and
    the end, `stored` naming their columns). Keeps:
    - every recomputed row and end row;
    - a start candidate where it differs (null-safe, any value) from the stored row valid before the start,
      or there is none;
    - at `end_at`, the stored row valid there (when it does not start exactly there), where it differs from
      the entity's last value before `end_at` after this run, or the entity has none. -#}
{% macro windowed_boundary_rows(spec, outputs, stored, start_at, end_at, reach, key_match) %}
    {%- set entity = spec.entity -%}
{%- if end_at is not none %}
fg_restore as (

    select
        {% for key in entity -%}
        {{ key }},
        {% endfor -%}
        {{ featurestore.cast_timestamp(featurestore.timestamp_literal(end_at)) }} as {{ spec.event_time }},
        {% for name in outputs -%}
        {{ name }},
        {% endfor -%}
        3 as fg_boundary
    from fg_stored_end
    where {{ spec.event_time }} < {{ featurestore.timestamp_literal(end_at) }}

),

{#- The entity's value just before the end once this run is merged. -#}
fg_before_end as (

    select *
    from (
        select
            *,
            row_number() over (partition by {{ entity | join(', ') }} order by {{ spec.event_time }} desc) as fg_newest
        from fg_features
        where fg_boundary in (0, 1) and {{ spec.event_time }} < {{ featurestore.timestamp_literal(end_at) }}
    ) as fg_history
    where fg_newest = 1

),
{%- endif %}

fg_checked as (

    select fg_all.*
    from (
        select * from fg_features
        {%- if end_at is not none %}
        union all
        select * from fg_restore
        {%- endif %}
    ) as fg_all
    left join fg_stored_start
        on {{ key_match.format(left='fg_all', right='fg_stored_start') }}
    {%- if end_at is not none %}
    left join fg_before_end
        on {{ key_match.format(left='fg_all', right='fg_before_end') }}
    {%- endif %}
    where
        fg_all.fg_boundary in (0, 2)
        or (
            fg_all.fg_boundary = 1
            and (
                fg_stored_start.{{ entity[0] }} is null
                {% for name in outputs -%}
                or fg_all.{{ name }} is distinct from fg_stored_start.{{ name }}
                {% endfor -%}
            )
        )
        {%- if end_at is not none %}
        or (
            fg_all.fg_boundary = 3
            and (
                fg_before_end.{{ entity[0] }} is null
                {% for name in outputs -%}
                or fg_all.{{ name }} is distinct from fg_before_end.{{ name }}
                {% endfor -%}
            )
        )
        {%- endif %}

),

fg_rows as (

    select
        {{ (entity + [spec.event_time] + outputs) | join(',\n        ') }}
    from fg_checked

)
{%- endmacro %}
