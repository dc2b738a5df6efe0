{#- Typed and checked raw articles, then the newest valid version of each id. Every raw column goes through a
    cast that gives null instead of failing (try_cast, raw_timestamp), so a row whose value does not cast is
    rejected as `uncastable_value` and counted instead of stopping the build. -#}
with

source as (

    select * from {{ source('news', 'articles') }}

),

typed as (

    select
        {{ featurestore.try_cast_integer('source.id') }} as article_id,
        {{ featurestore.raw_timestamp('source.published_at') }} as published_at,
        cast(source.category as varchar) as category,
        cast(source.publisher as varchar) as publisher,
        {{ featurestore.try_cast_integer('source.length_words', 'integer') }} as length_words,
        try_cast(source.is_premium as boolean) as is_premium,
        {{ featurestore.raw_timestamp('source.ingested_at') }} as ingested_at,
        (source.id is not null and {{ featurestore.try_cast_integer('source.id') }} is null)
        or (source.published_at is not null and {{ featurestore.raw_timestamp('source.published_at') }} is null)
        or (
            source.length_words is not null
            and {{ featurestore.try_cast_integer('source.length_words', 'integer') }} is null
        )
        or (source.is_premium is not null and try_cast(source.is_premium as boolean) is null)
        or (source.ingested_at is not null and {{ featurestore.raw_timestamp('source.ingested_at') }} is null)
            as has_uncastable_value
    from source

),

checked as (

    select
        article_id,
        published_at,
        category,
        publisher,
        length_words,
        is_premium,
        ingested_at,
        case
            when has_uncastable_value then 'uncastable_value'
            when article_id is null then 'null_key'
            when ingested_at is null then 'null_timestamp'
            when
                length(category) > {{ var('max_string_length') }}
                or length(publisher) > {{ var('max_string_length') }}
                then 'string_too_long'
            when
                {{ featurestore.out_of_time_range('published_at') }}
                or {{ featurestore.out_of_time_range('ingested_at') }}
                or length_words < 0
                or article_id < 0
                then 'out_of_range'
        end as row_rejection_reason
    from typed

),

numbered as (

    select
        *,
        {#- Only rows passing the row checks compete for the newest version: a broken newer delivery does not
            hide the valid one before it. #}
        row_number() over (
            partition by article_id, row_rejection_reason is null order by ingested_at desc
        ) as version_number
    from checked

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
        coalesce(
            row_rejection_reason,
            case when version_number > 1 then 'duplicate' end
        ) as rejection_reason
    from numbered

)

select * from final
