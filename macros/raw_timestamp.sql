{#- Returns a raw timestamp column typed as the staging timestamp, at millisecond precision, or null where
    the raw value does not cast (it is then rejected as `uncastable_value` by the base models).

    The precision contract (docs/athena.md, "Millisecond event times"): Athena engine v3 reads Hive/Parquet
    timestamps at millisecond precision, rounding the sub-millisecond digits (Trino's Hive connector,
    `hive.timestamp-precision` is MILLISECONDS on Athena). The athena branch therefore gets milliseconds from
    the read itself; the local branch rounds the same way (half up), so both engines stage the same instants.
    `try_cast` is Trino's (https://trino.io/docs/current/functions/conversion.html#try_cast) and DuckDB's:
    null where the cast fails. -#}
{% macro raw_timestamp(expr) -%}
    {{ return(adapter.dispatch('raw_timestamp', 'featurestore')(expr)) }}
{%- endmacro %}

{% macro default__raw_timestamp(expr) -%}
    try_cast({{ expr }} as timestamp(6))
{%- endmacro %}

{% macro duckdb__raw_timestamp(expr) -%}
    date_trunc('millisecond', try_cast({{ expr }} as timestamp) + to_microseconds(500))
{%- endmacro %}
