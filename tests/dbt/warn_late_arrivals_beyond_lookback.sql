{#- Warns with one row per raw table and ingestion day holding events that arrived later than the
    late-arrival lookback: feature groups count them only partly until a range backfill covers them. -#}
{{ config(severity='warn') }}

with

final as (

    select
        source_table,
        ingested_on,
        beyond_lookback_count,
        earliest_beyond_lookback_at
    from {{ ref('audit_late_arrivals') }}
    where beyond_lookback_count > 0

)

select * from final
