with

base as (

    select * from {{ ref('base_news__impressions') }}

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
    from base
    where rejection_reason is null

)

select * from final
