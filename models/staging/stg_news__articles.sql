with

base as (

    select * from {{ ref('base_news__articles') }}

),

final as (

    select
        article_id,
        published_at,
        category,
        publisher,
        length_words,
        is_premium,
        ingested_at
    from base
    where rejection_reason is null

)

select * from final
