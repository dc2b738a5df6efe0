{#- Typed and checked raw impressions. Every raw column goes through a cast that gives null instead of failing
    (try_cast, raw_timestamp), so a row whose value does not cast (a changed column type, text in an id) is
    rejected as `uncastable_value` and counted instead of stopping the build. -#}
with

source as (

    select * from {{ source('news', 'impressions') }}

),

typed as (

    select
        cast(source.impression_id as varchar) as impression_id,
        {{ featurestore.try_cast_integer('source.user_id') }} as user_id,
        {{ featurestore.try_cast_integer('source.article_id') }} as article_id,
        {{ featurestore.raw_timestamp('source.shown_at') }} as shown_at,
        {{ featurestore.try_cast_integer('source.position', 'integer') }} as feed_position,
        cast(source.surface as varchar) as surface,
        {{ featurestore.raw_timestamp('source.ingested_at') }} as ingested_at,
        source.dt,
        (source.user_id is not null and {{ featurestore.try_cast_integer('source.user_id') }} is null)
        or (source.article_id is not null and {{ featurestore.try_cast_integer('source.article_id') }} is null)
        or (source.shown_at is not null and {{ featurestore.raw_timestamp('source.shown_at') }} is null)
        or (
            source.position is not null
            and {{ featurestore.try_cast_integer('source.position', 'integer') }} is null
        )
        or (source.ingested_at is not null and {{ featurestore.raw_timestamp('source.ingested_at') }} is null)
            as has_uncastable_value
    from source

),

final as (

    select
        impression_id,
        user_id,
        article_id,
        shown_at,
        feed_position,
        surface,
        ingested_at,
        dt,
        case
            when has_uncastable_value then 'uncastable_value'
            when impression_id is null or user_id is null or article_id is null then 'null_key'
            when shown_at is null or ingested_at is null then 'null_timestamp'
            when
                length(impression_id) > {{ var('max_string_length') }}
                or length(surface) > {{ var('max_string_length') }}
                then 'string_too_long'
            when
                {{ featurestore.out_of_time_range('shown_at') }}
                or {{ featurestore.out_of_time_range('ingested_at') }}
                or feed_position < 0
                or user_id < 0
                or article_id < 0
                then 'out_of_range'
            when shown_at > {{ dbt.dateadd('minute', var('max_clock_skew_minutes'), 'ingested_at') }}
                then 'future_timestamp'
        end as rejection_reason
    from typed

)

select * from final
