{#- Returns the SQL expression of the current time as a UTC timestamp without time zone, the form of every
    event time: DuckDB turns `current_timestamp at time zone 'UTC'` into a plain timestamp; Athena (Trino)
    into a timestamp with time zone, whose cast to timestamp keeps the UTC wall-clock time. -#}
{% macro utc_now() -%}
    cast(current_timestamp at time zone 'UTC' as timestamp)
{%- endmacro %}
