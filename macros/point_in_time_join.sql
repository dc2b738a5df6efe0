{#- Returns a SELECT of every spine row, exactly once and with all its columns, plus the requested features
    of each feature group as they were at the row's `spine_time`: from the group's newest row for the row's
    keys with event time <= spine_time (`inclusive=true`, the default) or < spine_time (`inclusive=false`),
    NULL when there is none, when that row is older than the TTL (its event time + TTL <= spine_time), or when
    a key or spine_time is NULL. For each group it also returns `<alias>_<event_time>`, the event time of the
    row used (NULL when none), which the `no_future_features` test checks.

    Arguments (see pit_feature_specs for the entries of `feature_groups`):
      spine         a relation (ref/source) or the name of a CTE holding the label rows
      spine_time    the spine's timestamp column (UTC, the label's time)
      inclusive     use a feature row stamped exactly at spine_time. The default (true) matches the contract:
                    a row's values hold from its event time on, and our groups only count events strictly
                    before it. Pass false for a group whose event time is that of the last event it includes
                    when the label's own event may be among them.
      time_bounds   [start, end] of the spine's times, to bound the feature scans with literals; by default
                    queried from a spine relation before the join
      spine_columns the spine's columns, needed by the window method when the spine is a CTE or undocumented
      method        'asof' (DuckDB's ASOF LEFT JOIN) or 'window' (portable: UNION ALL and window functions,
                    the default on other adapters); by default the adapter's best -#}
{% macro point_in_time_join(
    spine, spine_time, feature_groups, inclusive=true, time_bounds=none, spine_columns=none, method=none
) %}
    {%- if inclusive not in [true, false] -%}
        {{ exceptions.raise_compiler_error(
            "point_in_time_join() in " ~ model.name ~ ": inclusive must be true or false, got " ~ inclusive
        ) }}
    {%- endif -%}
    {%- set specs = featurestore.pit_feature_specs(feature_groups) -%}
    {%- set columns = featurestore.pit_spine_columns(spine, spine_columns) -%}
    {%- if execute -%}
        {%- if columns and spine_time not in columns -%}
            {{ exceptions.raise_compiler_error(
                "point_in_time_join() in " ~ model.name ~ ": spine_time '" ~ spine_time ~ "' is not a column of the "
                ~ "spine " ~ spine ~ " (columns: " ~ (columns | join(', ')) ~ ")"
            ) }}
        {%- endif -%}
        {%- for spec in specs -%}
            {%- for output in spec.features | map(attribute='output') | list + [spec.time_output] -%}
                {%- if output in columns -%}
                    {{ exceptions.raise_compiler_error(
                        "point_in_time_join() in " ~ model.name ~ ": output column '" ~ output ~ "' of group '"
                        ~ spec.name ~ "' is also a spine column; rename it (features: {name: new_name}), or set "
                        ~ "a prefix or alias"
                    ) }}
                {%- endif -%}
            {%- endfor -%}
            {%- for key in spec['keys'] -%}
                {%- if columns and key not in columns -%}
                    {{ exceptions.raise_compiler_error(
                        "point_in_time_join() in " ~ model.name ~ ": the spine has no column '" ~ key ~ "' for the "
                        ~ "entity of group '" ~ spec.name ~ "' (entity: " ~ (spec.entity | join(', ')) ~ "); map "
                        ~ "it with keys: {entity_column: spine_column}"
                    ) }}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set bounds = featurestore.pit_time_bounds(spine, spine_time, time_bounds) -%}
    {%- if method is none -%}
        {{ return(adapter.dispatch('point_in_time_join', 'featurestore')(spine, spine_time, specs, inclusive, bounds, columns)) }}
    {%- elif method == 'asof' -%}
        {{ return(featurestore.pit_join_asof(spine, spine_time, specs, inclusive, bounds)) }}
    {%- elif method == 'window' -%}
        {{ return(featurestore.pit_join_window(spine, spine_time, specs, inclusive, bounds, columns)) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "point_in_time_join() in " ~ model.name ~ ": method must be 'asof' or 'window', got " ~ method
        ) }}
    {%- endif -%}
{% endmacro %}

{% macro default__point_in_time_join(spine, spine_time, specs, inclusive, bounds, columns) %}
    {{ return(featurestore.pit_join_window(spine, spine_time, specs, inclusive, bounds, columns)) }}
{% endmacro %}

{% macro duckdb__point_in_time_join(spine, spine_time, specs, inclusive, bounds, columns) %}
    {{ return(featurestore.pit_join_asof(spine, spine_time, specs, inclusive, bounds)) }}
{% endmacro %}
