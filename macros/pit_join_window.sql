{#- Returns point_in_time_join()'s SELECT in portable SQL (Athena/Trino and DuckDB), at the cost of one sort
    of spine + feature rows per group rather than their product. Per feature group, one pass:
      1. UNION ALL of the spine rows and the group's rows (keys, time; spine columns NULL on feature rows);
      2. one window per key in time order (at equal times the feature row sorts before the spine row when
         `inclusive`, after it otherwise) carries forward, with last_value ignoring NULLs, the event time of
         the newest feature row (`pit_matched_at`) and, per feature, the newest non-NULL value and the event
         time of the row it came from: the value belongs to the matched row only when those times are equal,
         so a NULL in the matched row stays NULL instead of letting an older value through;
      3. the spine rows are kept, with values older than the TTL set to NULL.
    The next group's pass reads the previous pass as its spine. Every relation and subquery is read once
    (Trino inlines CTEs, so a CTE read twice is scanned and billed twice). Times are compared in UTC
    (utc_timestamp). -#}
{% macro pit_join_window(spine, spine_time, specs, inclusive, bounds, columns) %}
    {%- if not execute -%}
        {{ return('select * from ' ~ spine) }}
    {%- endif -%}
    {%- if not columns -%}
        {{ exceptions.raise_compiler_error(
            "point_in_time_join() in " ~ model.name ~ ": the window method needs the spine's columns; document "
            ~ "them in the spine model's .yml or pass spine_columns=[...] (spine: " ~ spine ~ ")"
        ) }}
    {%- endif -%}
    {%- set ns = namespace(source=spine, carried=columns | list) -%}
    {%- for spec in specs -%}
        {%- set keys -%}
            {%- for column in spec.entity %}pit_key_{{ loop.index }}{{ ', ' if not loop.last }}{% endfor -%}
        {%- endset -%}
        {%- set over = 'partition by ' ~ keys
            ~ ' order by pit_order_at, pit_order rows between unbounded preceding and current row' -%}
        {%- set values = [] -%}
        {%- for feature in spec.features -%}
            {%- do values.append('pit_value_' ~ loop.index) -%}
        {%- endfor -%}
        {#- `ttl: none`: a matched value never expires (a spine row without a time matches nothing, as the
            comparison with a TTL gives null for it). -#}
        {%- set is_fresh = featurestore.utc_timestamp(spine_time) ~ ' is not null and pit_matched_at is not null'
            if spec.ttl_seconds is none
            else 'pit_matched_at > ' ~ featurestore.utc_timestamp(spine_time) ~ ' - '
            ~ featurestore.interval_literal(spec.ttl_seconds) -%}
        {%- set pass -%}
    select
        {%- for column in ns.carried %}
        {{ column }},
        {%- endfor %}
        {%- for feature in spec.features %}
        case
            when {{ is_fresh }} and {{ values[loop.index0] }}_at = pit_matched_at then {{ values[loop.index0] }}
        end as {{ feature.output }},
        {%- endfor %}
        case when {{ is_fresh }} then pit_matched_at end as {{ spec.time_output }}
    from (
        select
            {%- for column in ns.carried %}
            {{ column }},
            {%- endfor %}
            pit_is_feature,
            {%- for value in values %}
            {{ featurestore.last_non_null(value, over) }} as {{ value }},
            {{ featurestore.last_non_null('case when ' ~ value ~ ' is not null then pit_event_at end', over) }}
                as {{ value }}_at,
            {%- endfor %}
            {{ featurestore.last_non_null('pit_event_at', over) }} as pit_matched_at
        from (
            select
                {%- for column in ns.carried %}
                spine.{{ column }},
                {%- endfor %}
                {%- for key in spec['keys'] %}
                spine.{{ key }} as pit_key_{{ loop.index }},
                {%- endfor %}
                {{ featurestore.utc_timestamp('spine.' ~ spine_time) }} as pit_order_at,
                1 as pit_order,
                null as pit_is_feature,
                null as pit_event_at
                {%- for value in values %},
                null as {{ value }}
                {%- endfor %}
            from {{ ns.source }} as spine
            union all
            select
                {%- for column in ns.carried %}
                null as {{ column }},
                {%- endfor %}
                {%- for column in spec.entity %}
                feature_rows.{{ column }} as pit_key_{{ loop.index }},
                {%- endfor %}
                {{ featurestore.utc_timestamp('feature_rows.' ~ spec.event_time) }} as pit_order_at,
                {{ 0 if inclusive else 2 }} as pit_order,
                1 as pit_is_feature,
                {{ featurestore.utc_timestamp('feature_rows.' ~ spec.event_time) }} as pit_event_at
                {%- for feature in spec.features %},
                feature_rows.{{ feature.column }} as {{ values[loop.index0] }}
                {%- endfor %}
            from {{ spec.relation }} as feature_rows
            where {{ featurestore.pit_feature_rows(spec, bounds, 'feature_rows') }}
        ) as pit_unioned
    ) as pit_matched
    where pit_is_feature is null
        {%- endset -%}
        {%- set ns.source = '(' ~ pass ~ '\n)' -%}
        {%- set ns.carried = ns.carried + spec.features | map(attribute='output') | list + [spec.time_output] -%}
    {%- endfor -%}
    {{ return(ns.source[1:-2]) }}
{% endmacro %}
