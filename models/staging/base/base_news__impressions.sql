with

source as (

    select * from {{ source('news', 'impressions') }}

),

typed as (

    select
        cast(impression_id as varchar) as impression_id,
        cast(user_id as bigint) as user_id,
        cast(article_id as bigint) as article_id,
        {{ featurestore.cast_timestamp('shown_at') }} as shown_at,
        cast("position" as integer) as feed_position,
        cast(surface as varchar) as surface,
        {{ featurestore.cast_timestamp('ingested_at') }} as ingested_at,
        dt
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
            when impression_id is null or user_id is null or article_id is null then 'null_key'
            when shown_at > {{ dbt.dateadd('minute', var('max_clock_skew_minutes'), 'ingested_at') }}
                then 'future_timestamp'
        end as rejection_reason
    from typed

)

select * from final
