{#- Incremental: each run reads only the raw partitions from the day before the newest ingestion already
    staged (see staging_batch()), keeps each id's first delivery and merges the ids not staged yet. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='reaction_id',
    on_schema_change='fail',
    table_type='iceberg',
    format='parquet',
    partitioned_by=(['day(reacted_at)'] if target.type == 'athena' else none),
    incremental_predicates=[],
) }}

{%- set batch = featurestore.staging_batch(ref('base_news__reactions'), 'reacted_at') -%}

with

new_events as (

    {{ featurestore.staged_new_events(ref('base_news__reactions'), 'reaction_id', 'reacted_at', batch) }}

),

final as (

    select
        reaction_id,
        impression_id,
        user_id,
        article_id,
        reacted_at,
        reaction_kind,
        dwell_seconds,
        ingested_at
    from new_events
    {#- Stored in event-time order: the feature groups filter on reacted_at, and DuckDB skips the row groups
        whose min/max lie outside the filter (a full build's window output is in id-hash order). Athena's
        table is partitioned by day of reacted_at and may ignore this. #}
    order by reacted_at

)

select * from final
