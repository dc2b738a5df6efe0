{#- Returns point_in_time_join()'s SELECT with DuckDB's ASOF LEFT JOIN: one join per feature group, each
    picking, for every spine row, the group's newest row for the row's keys at or before (or strictly before)
    spine_time; a spine row matches at most once, so it comes out exactly once. -#}
{% macro pit_join_asof(spine, spine_time, specs, inclusive, bounds) %}
    {%- if not execute -%}
        {{ return('select * from ' ~ spine) }}
    {%- endif %}
    select
        spine.*
        {%- for spec in specs %}
            {%- set alias = 'pit_' ~ loop.index -%}
            {%- set is_fresh = alias ~ '.' ~ spec.event_time ~ ' > spine.' ~ spine_time ~ ' - '
                ~ featurestore.interval_literal(spec.ttl_seconds) -%}
            {%- for feature in spec.features %},
        case when {{ is_fresh }} then {{ alias }}.{{ feature.column }} end as {{ feature.output }}
            {%- endfor %},
        case when {{ is_fresh }} then {{ alias }}.{{ spec.event_time }} end as {{ spec.time_output }}
        {%- endfor %}
    from {{ spine }} as spine
    {%- for spec in specs %}
        {%- set alias = 'pit_' ~ loop.index %}
    asof left join (
        select
            {{ (spec.entity + [spec.event_time] + spec.features | map(attribute='column') | list) | join(',\n            ') }}
        from {{ spec.relation }}
        where {{ featurestore.pit_feature_rows(spec, bounds) }}
    ) as {{ alias }}
        on
        {%- for column in spec.entity %}
            spine.{{ spec['keys'][loop.index0] }} = {{ alias }}.{{ column }} and
        {%- endfor %}
            spine.{{ spine_time }} {{ '>=' if inclusive else '>' }} {{ alias }}.{{ spec.event_time }}
    {%- endfor %}
{% endmacro %}
