with

source as (

    select * from {{ source('news', 'reactions') }}

),

typed as (

    select
        cast(reaction_id as varchar) as reaction_id,
        cast(impression_id as varchar) as impression_id,
        cast(user_id as bigint) as user_id,
        cast(article_id as bigint) as article_id,
        {{ featurestore.cast_timestamp('reacted_at') }} as reacted_at,
        cast(kind as varchar) as reaction_kind,
        cast(dwell_seconds as double) as dwell_seconds,
        {{ featurestore.cast_timestamp('ingested_at') }} as ingested_at,
        dt
    from source

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
        ingested_at,
        dt,
        case
            when reaction_id is null or user_id is null or article_id is null then 'null_key'
            when reacted_at > {{ dbt.dateadd('minute', var('max_clock_skew_minutes'), 'ingested_at') }}
                then 'future_timestamp'
            when reaction_kind not in ('click', 'like', 'comment', 'share') then 'unknown_kind'
        end as rejection_reason
    from typed

)

select * from final
