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

base as (

    select * from {{ ref('base_news__impressions') }}
    where
        rejection_reason is null
        -- Only the raw partitions of this batch (a literal, so that Athena prunes them); all on a full build.
        and {{ "dt >= '" ~ batch.dt_from ~ "'" if batch.dt_from is not none else 'true' }}

),

deliveries as (

    select
        *,
        row_number() over (partition by impression_id order by ingested_at, dt) as delivery_number
    from base

),

first_deliveries as (

    select * from deliveries
    where delivery_number = 1

),

{% if is_incremental() -%}
already_staged as (

    select impression_id from {{ this }}
    where {{ featurestore.in_time_range('shown_at', batch.event_time_from) }}

),

new_events as (

    select first_deliveries.*
    from first_deliveries
    left join already_staged on first_deliveries.impression_id = already_staged.impression_id
    where already_staged.impression_id is null

),
{%- else -%}
new_events as (

    select * from first_deliveries

),
{%- endif %}

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
