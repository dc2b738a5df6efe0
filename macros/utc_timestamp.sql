{#- Returns `expr` (a timestamp with or without a time zone) as a timestamp without a time zone in UTC, whatever
    the session's time zone, so that point-in-time comparisons never depend on where they run. A column without
    a zone is taken to hold UTC already (the contract's rule).
    DuckDB compares a zone-less timestamp with a `timestamp with time zone` by reading the former in the
    session's zone (the OS zone by default), so its branch goes through epoch microseconds, which are the same
    for both types: epoch_us() of a zone-less value reads it as UTC, make_timestamp(micros) gives it back
    zone-less. Athena runs every query in UTC and our tables store zone-less timestamps: unchanged there, so
    literal bounds on the raw column keep pruning partitions. -#}
{% macro utc_timestamp(expr) -%}
    {{ return(adapter.dispatch('utc_timestamp', 'featurestore')(expr)) }}
{%- endmacro %}

{% macro default__utc_timestamp(expr) -%}
    {{ return(expr) }}
{%- endmacro %}

{% macro duckdb__utc_timestamp(expr) -%}
    {{ return('make_timestamp(epoch_us(' ~ expr ~ '))') }}
{%- endmacro %}
