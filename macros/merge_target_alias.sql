{#- Returns the alias that the adapter's MERGE gives the existing (target) table, for use in
    incremental_predicates: dbt-athena writes `target`, dbt-duckdb `DBT_INTERNAL_DEST`. -#}
{% macro merge_target_alias() -%}
    {{ return(adapter.dispatch('merge_target_alias', 'featurestore')()) }}
{%- endmacro %}

{% macro default__merge_target_alias() -%}
    {{ return('DBT_INTERNAL_DEST') }}
{%- endmacro %}

{% macro athena__merge_target_alias() -%}
    {{ return('target') }}
{%- endmacro %}
