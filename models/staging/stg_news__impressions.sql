{#- Incremental: each run reads only the raw partitions from the day before the newest ingestion already
    staged (see staging_batch()), keeps each id's first delivery and merges the ids not staged yet. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='impression_id',
    on_schema_change='fail',
    table_type='iceberg',
    format='parquet',
    partitioned_by=(['day(shown_at)'] if target.type == 'athena' else none),
    incremental_predicates=[],
) }}

{%- set batch = featurestore.staging_batch(ref('base_news__impressions'), 'shown_at') -%}

with

new_events as (

    {{ featurestore.staged_new_events(ref('base_news__impressions'), 'impression_id', 'shown_at', batch) }}

),

final as (

    select
        impression_id,
        user_id,
        article_id,
        shown_at,
        feed_position,
        surface,
        ingested_at
    from new_events
    {#- Stored in event-time order: the feature groups filter on shown_at, and DuckDB skips the row groups
        whose min/max lie outside the filter (a full build's window output is in id-hash order). Athena's
        table is partitioned by day of shown_at and may ignore this. #}
    order by shown_at

)

select * from final
