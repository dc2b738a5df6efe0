{#- Events per source and ingestion day, and how many arrived later than the feature groups' late-arrival
    lookback (var late_arrival_lookback_hours): incremental runs only partly count those, so they need a
    range backfill (`featurestore backfill <group> --start <their day> --end ...`). -#}
{%- set lookback_seconds = var('late_arrival_lookback_hours') * 3600 -%}

with

impressions as (

    select
        'impressions' as source_table,
        shown_at as event_at,
        ingested_at
    from {{ ref('stg_news__impressions') }}

),

reactions as (

    select
        'reactions' as source_table,
        reacted_at as event_at,
        ingested_at
    from {{ ref('stg_news__reactions') }}

),

events as (

    select * from impressions
    union all
    select * from reactions

),

lateness as (

    select
        source_table,
        event_at,
        cast(ingested_at as date) as ingested_on,
        {{ featurestore.epoch_seconds('ingested_at') }} - {{ featurestore.epoch_seconds('event_at') }}
            as delay_seconds
    from events

),

final as (

    select
        source_table,
        ingested_on,
        count(*) as event_count,
        cast(sum(case when delay_seconds > {{ lookback_seconds }} then 1 else 0 end) as bigint)
            as beyond_lookback_count,
        min(case when delay_seconds > {{ lookback_seconds }} then event_at end) as earliest_beyond_lookback_at,
        max(delay_seconds) / 3600.0 as max_delay_hours
    from lateness
    group by source_table, ingested_on

)

select * from final
