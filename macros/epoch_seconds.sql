{#- Returns the seconds since 1970-01-01 00:00:00 UTC of a timestamp without a time zone, as a double,
    parenthesized so that callers can combine it with operators safely. -#}
{% macro epoch_seconds(expr) -%}
    {{ return(adapter.dispatch('epoch_seconds', 'featurestore')(expr)) }}
{%- endmacro %}

{% macro default__epoch_seconds(expr) -%}
    (to_unixtime({{ expr }}))
{%- endmacro %}

{% macro duckdb__epoch_seconds(expr) -%}
    (epoch({{ expr }}))
{%- endmacro %}
