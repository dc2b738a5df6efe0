{#- Returns the timestamp at which bucket `bucket_number` of width `grain_seconds` starts
    (bucket_number * grain_seconds seconds after 1970-01-01 00:00:00 UTC), as the warehouse's timestamp type. -#}
{% macro bucket_start_at(bucket_number, grain_seconds) -%}
    {{ featurestore.cast_timestamp(
        dbt.dateadd('second', bucket_number ~ ' * ' ~ grain_seconds, "timestamp '1970-01-01 00:00:00'")
    ) }}
{%- endmacro %}
