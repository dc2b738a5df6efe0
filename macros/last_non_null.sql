{#- Returns a window expression: the last non-null value of `expr` over the window `over` (the text inside
    OVER (...)). Trino/Athena write IGNORE NULLS after the call, DuckDB inside it. -#}
{% macro last_non_null(expr, over) -%}
    {{ return(adapter.dispatch('last_non_null', 'featurestore')(expr, over)) }}
{%- endmacro %}

{% macro default__last_non_null(expr, over) -%}
    last_value({{ expr }}) ignore nulls over ({{ over }})
{%- endmacro %}

{% macro duckdb__last_non_null(expr, over) -%}
    last_value({{ expr }} ignore nulls) over ({{ over }})
{%- endmacro %}
