with

source as (

    select * from {{ source('news', 'articles') }}

),

typed as (

    select
        cast(id as bigint) as article_id,
        {{ featurestore.cast_timestamp('published_at') }} as published_at,
        cast(category as varchar) as category,
        cast(publisher as varchar) as publisher,
        cast(length_words as integer) as length_words,
        cast(is_premium as boolean) as is_premium,
        {{ featurestore.cast_timestamp('ingested_at') }} as ingested_at
    from source

),

numbered as (

    select
        *,
        row_number() over (
            partition by article_id order by ingested_at desc
        ) as version_number
    from typed

),

final as (

    select
        article_id,
        published_at,
        category,
        publisher,
        length_words,
        is_premium,
        ingested_at,
        case
            when article_id is null then 'null_key'
            when version_number > 1 then 'duplicate'
        end as rejection_reason
    from numbered

)

select * from final
