{#- Returns the alias that the adapter's MERGE gives the new rows (the source), for use in merge update
    conditions: dbt-athena writes `src`, dbt-duckdb `DBT_INTERNAL_SOURCE`. -#}
{% macro merge_source_alias() -%}
    {{ return(adapter.dispatch('merge_source_alias', 'featurestore')()) }}
{%- endmacro %}

{% macro default__merge_source_alias() -%}
    {{ return('DBT_INTERNAL_SOURCE') }}
{%- endmacro %}

{% macro athena__merge_source_alias() -%}
    {{ return('src') }}
{%- endmacro %}
