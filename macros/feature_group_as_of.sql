{#- Returns a SELECT of each entity's values of feature group `group` valid at `as_of`, for use in dbt models:
    the entity's newest row with event time <= as_of, left out when older than the TTL (see
    feature_group_values_at). `as_of` is an ISO date or time string (UTC, made a literal, so Athena prunes
    partitions), a Python datetime, or none for the time the query runs (the <group>__current view).

        select * from ({{ featurestore.feature_group_as_of('user_engagement', '2026-10-14 20:00') }}) as engagement
-#}
{% macro feature_group_as_of(group, as_of=none) %}
    {%- set relation = ref(group) -%}
    {%- if not execute -%}
        {{ return('select 1 as placeholder') }}
    {%- endif -%}
    {%- set node = featurestore.feature_group_node(group, 'feature_group_as_of() in ' ~ model.name) -%}
    {%- if as_of is none -%}
        {%- set at_sql = featurestore.utc_now() -%}
    {%- elif as_of is string -%}
        {%- set at_sql = featurestore.cast_timestamp(featurestore.timestamp_literal(as_of.replace('T', ' '))) -%}
    {%- else -%}
        {%- set at_sql = featurestore.cast_timestamp(featurestore.timestamp_literal(as_of)) -%}
    {%- endif -%}
    {{ return(featurestore.feature_group_values_at(
        relation, node.config.meta.feature_group, node.columns.keys() | list, at_sql
    )) }}
{% endmacro %}
