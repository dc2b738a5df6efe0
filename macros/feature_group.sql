{#- Returns the whole SQL of a declarative feature group around the analyst's SELECT of events (the body of
    the call block), from the declaration in the model's config.meta.feature_group (feature_group_spec()):

        {% call featurestore.feature_group() %}
        select ... from {{ ref('...') }}
        {% endcall %}

    It configures the model (unique key = entity + event time, Iceberg day partitions on Athena, a merge
    bounded by literal target predicates, update only when computed_at changed), computes the run's bounds
    (incremental_window(): full build, micro-batch with the late-arrival lookback, or range backfill),
    checks the SELECT's columns and the YAML's columns against the declaration, and generates the rows:
    windowed_value_ctes() for `aggregations`, attribute changes for `attributes`. `computed_at` keeps the
    stored time for rows whose values did not change (keep_computed_at()); a range backfill stamps every
    row, and the post-hook delete_stale_backfill_rows() removes the range's rows it did not rewrite.

    Why a call block and not a custom materialization: dbt-duckdb and dbt-athena each ship their own
    incremental materialization (merge, Iceberg, temp tables, schema changes); wrapping the SELECT keeps
    both, and the analyst's file stays a SELECT between two lines. See docs/architecture.md. -#}
{% macro feature_group() %}
    {%- set computed_at_changed = featurestore.merge_target_alias() ~ '.computed_at is distinct from '
        ~ featurestore.merge_source_alias() ~ '.computed_at' -%}
    {#- unique_key, partitioned_by and incremental_predicates come from the YAML, which dbt only merges into
        the config after parsing this file: they are filled in place below, when the model is compiled
        (before its materialization reads them). -#}
    {{ config(
        unique_key=[],
        partitioned_by=([] if target.type == 'athena' else none),
        incremental_predicates=[],
        update_condition=computed_at_changed,
        merge_update_condition=computed_at_changed,
    ) }}
    {%- if not execute -%}
        {#- Parsing: render the SELECT so dbt records its refs. -#}
        {%- set bounds = {'recompute_from': none, 'recompute_until': none, 'read_from': none, 'lookup_from': none,
            'is_backfill': false, 'boundary_end': none} -%}
        {{ caller(bounds) if caller.arguments else caller() }}
    {%- else -%}
    {%- if model.resource_type == 'unit_test' -%}
        {#- dbt renders a unit test with the unit test as `model` and an empty graph: the group's YAML, hence
            its declaration, is out of reach. -#}
        {{ featurestore.feature_group_error(model.name, 'unit_test_unsupported', "dbt unit tests cannot see a "
            ~ "declarative group's YAML; its values are tested against a brute-force recomputation instead "
            ~ "(tests/offline/test_feature_semantics*.py, tests/offline/test_aggregation_functions.py)") }}
    {%- endif -%}
    {%- set spec = featurestore.feature_group_spec(model) -%}
    {#- Refuses, before any SQL writes, to extend history computed by another definition. The record to
        store is kept in the model's config.meta (in place, like unique_key) for the post-hook
        store_feature_group_definition(), which writes it after a successful build. -#}
    {%- set meta = config.get('meta') -%}
    {%- set definition = featurestore.feature_group_definition_state() -%}
    {%- if meta is mapping -%}
        {%- do meta.update({'featurestore_definition': tojson(definition, sort_keys=true)}) -%}
    {%- endif -%}
    {%- set unique_key = config.get('unique_key') -%}
    {%- if unique_key is not none and unique_key is not string -%}
        {%- do unique_key.clear() -%}
        {%- do unique_key.extend(spec.entity + [spec.event_time]) -%}
    {%- endif -%}
    {%- set partitioned_by = config.get('partitioned_by') -%}
    {%- if target.type == 'athena' and partitioned_by is not none and partitioned_by is not string -%}
        {%- do partitioned_by.clear() -%}
        {%- do partitioned_by.append('day(' ~ spec.event_time ~ ')') -%}
    {%- endif -%}
    {#- A range backfill's real end (extended by the windows' reach): backfill_extent(). -#}
    {%- set extent = featurestore.backfill_extent(spec) -%}
    {%- if spec.kind == 'windowed' -%}
        {%- set longest = spec.windows.values() | max -%}
        {#- The newest row is at most the longest window and a bucket after the newest event processed. -#}
        {%- set bounds = featurestore.incremental_window(
            watermark_column=spec.event_time,
            event_time_column=spec.event_time,
            lookback_hours=var('late_arrival_lookback_hours'),
            grain_seconds=spec.grain,
            history_seconds=longest + spec.grain,
            watermark_offset_seconds=longest + spec.grain,
            extent=extent,
        ) -%}
    {%- else -%}
        {%- set bounds = featurestore.incremental_window(
            watermark_column=spec.event_time,
            event_time_column=spec.event_time,
            lookback_hours=var('late_arrival_lookback_hours'),
            grain_seconds=1,
            history_seconds=0,
            extent=extent,
        ) -%}
    {%- endif -%}
    {#- A SELECT that looks events up in their history (`{% call(bounds) ... %}`) gets the run's bounds
        for featurestore.reads(); see docs/feature_groups.md#bounding-history-lookups. -#}
    {%- set events_sql = caller(bounds) if caller.arguments else caller() -%}
    {{ featurestore.feature_group_columns_check(spec, events_sql) }}
    {%- if spec.kind == 'windowed' -%}
        {{ featurestore.windowed_feature_rows(spec, events_sql, bounds) }}
    {%- else -%}
        {{ featurestore.attribute_feature_rows(spec, events_sql, bounds) }}
    {%- endif -%}
    {%- endif -%}
{% endmacro %}
