{#- Returns `expr` cast to the warehouse's UTC timestamp type without a time zone.
    Athena's Iceberg tables only store microsecond timestamps, so its branch asks for timestamp(6). -#}
{% macro cast_timestamp(expr) -%}
    {{ return(adapter.dispatch('cast_timestamp', 'featurestore')(expr)) }}
{%- endmacro %}

{% macro default__cast_timestamp(expr) -%}
    cast({{ expr }} as timestamp)
{%- endmacro %}

{% macro athena__cast_timestamp(expr) -%}
    cast({{ expr }} as timestamp(6))
{%- endmacro %}
