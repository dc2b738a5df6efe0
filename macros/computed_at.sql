{#- Returns this dbt invocation's start time as a timestamp literal (UTC): the bookkeeping column
    `computed_at` of feature-group rows, which says when a row was last (re)computed. -#}
{% macro computed_at() -%}
    {{ featurestore.cast_timestamp(featurestore.timestamp_literal(run_started_at.replace(tzinfo=none))) }}
{%- endmacro %}
