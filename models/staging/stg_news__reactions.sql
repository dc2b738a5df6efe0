with

base as (

    select * from {{ ref('base_news__reactions') }}

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
    from base
    where rejection_reason is null

)

select * from final
