{#- Returns point_in_time_join()'s SELECT with DuckDB's ASOF LEFT JOIN: one join per feature group, each
    picking, for every spine row, the group's newest row for the row's keys at or before (or strictly before)
    spine_time; a spine row matches at most once, so it comes out exactly once. Times are compared in UTC
    (utc_timestamp), whatever the session's time zone and whether or not the columns carry one. -#}
{% macro pit_join_asof(spine, spine_time, specs, inclusive, bounds) %}
    {%- if not execute -%}
        {{ return('select * from ' ~ spine) }}
    {%- endif %}
    {%- set label_at = featurestore.utc_timestamp('spine.' ~ spine_time) %}
    select
        spine.*
        {%- for spec in specs %}
            {%- set alias = 'pit_' ~ loop.index -%}
            {#- `ttl: none`: a matched value never expires. -#}
            {%- set is_fresh = alias ~ '.' ~ spec.event_time ~ ' is not null' if spec.ttl_seconds is none
                else alias ~ '.' ~ spec.event_time ~ ' > ' ~ label_at ~ ' - '
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
            {%- for column in spec.entity %}
            {{ column }},
            {%- endfor %}
            {{ featurestore.utc_timestamp(spec.event_time) }} as {{ spec.event_time }}
            {%- for column in spec.features | map(attribute='column') %},
            {{ column }}
            {%- endfor %}
        from {{ spec.relation }}
        where {{ featurestore.pit_feature_rows(spec, bounds) }}
    ) as {{ alias }}
        on
        {%- for column in spec.entity %}
            spine.{{ spec['keys'][loop.index0] }} = {{ alias }}.{{ column }} and
        {%- endfor %}
            {{ label_at }} {{ '>=' if inclusive else '>' }} {{ alias }}.{{ spec.event_time }}
    {%- endfor %}
{% endmacro %}
