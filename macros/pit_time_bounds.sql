{#- Returns the [start, end] of the spine's label times for point_in_time_join(), as a dict of two zone-less
    UTC datetimes, or none when unknown. Feature rows outside [start - TTL, end] can never be
    joined; bounding the feature scans by these literals lets Athena prune partitions. `time_bounds`
    (two values) is used as given; otherwise the spine is queried for min/max once before the join runs,
    which needs the spine to be a relation that exists. -#}
{% macro pit_time_bounds(spine, spine_time, time_bounds=none) %}
    {%- if time_bounds is not none -%}
        {%- if time_bounds is string or time_bounds | length != 2 -%}
            {{ exceptions.raise_compiler_error(
                "point_in_time_join() in " ~ model.name ~ ": time_bounds must be [start, end], got "
                ~ (time_bounds | string)
            ) }}
        {%- endif -%}
        {%- set bounds = {'start': time_bounds[0], 'end': time_bounds[1]} -%}
    {%- elif not execute or spine is string
        or adapter.get_relation(spine.database, spine.schema, spine.identifier) is none -%}
        {#- Not built yet (e.g. `dbt compile` of a fresh project): no bounds, the result is the same. -#}
        {{ return(none) }}
    {%- else -%}
        {%- set label_at = featurestore.utc_timestamp(spine_time) -%}
        {%- set result = run_query(
            'select min(' ~ label_at ~ '), max(' ~ label_at ~ ') from ' ~ spine ~ ' where ' ~ spine_time ~ ' is not null'
        ) -%}
        {%- if result is none or result.rows | length == 0 or result.rows[0][0] is none -%}
            {{ return(none) }}
        {%- endif -%}
        {%- set bounds = {'start': result.rows[0][0], 'end': result.rows[0][1]} -%}
    {%- endif -%}
    {%- for name in ['start', 'end'] -%}
        {%- if bounds[name] is string -%}
            {%- do bounds.update({name: modules.datetime.datetime.fromisoformat(bounds[name].replace('Z', '+00:00'))}) -%}
        {%- endif -%}
        {#- A bound with a zone (an ISO string with an offset) becomes zone-less UTC, like the event times. -#}
        {%- if bounds[name].tzinfo is not none -%}
            {%- do bounds.update({name: bounds[name].astimezone(modules.pytz.utc).replace(tzinfo=none)}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(bounds) }}
{% endmacro %}
