{#- Returns the condition under which a feature group's MERGE updates a matched row: some value column
    differs (null-safe). Unchanged rows keep their `computed_at`, which then says when the row's values
    last changed; `featurestore sync` relies on that to write only changed entities to the online store.
    Set it as both adapters' option in the model's config: `update_condition` (dbt-athena) and
    `merge_update_condition` (dbt-duckdb).

    Returns none (update every matched row) during a range backfill: delete_stale_backfill_rows() tells
    the rows this run produced by their fresh `computed_at`, so a backfill must stamp every row it writes.
    `columns` lists every column except the unique key and `computed_at`; tests/athena/test_athena_emitted_sql.py
    checks that list against the model's YAML. -#}
{% macro values_changed_condition(columns) -%}
    {{ return(adapter.dispatch('values_changed_condition', 'featurestore')(columns)) }}
{%- endmacro %}

{% macro default__values_changed_condition(columns) -%}
    {%- if featurestore.backfill_range() is not none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set target_alias = featurestore.merge_target_alias() -%}
    {%- set source_alias = featurestore.merge_source_alias() -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append(target_alias ~ '.' ~ column ~ ' is distinct from ' ~ source_alias ~ '.' ~ column) -%}
    {%- endfor -%}
    {{ return('(' ~ parts | join(' or ') ~ ')') }}
{%- endmacro %}
