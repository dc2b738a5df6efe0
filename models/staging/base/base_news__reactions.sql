{#- Typed and checked raw reactions. Every raw column goes through a cast that gives null instead of failing
    (try_cast, raw_timestamp), so a row whose value does not cast (a changed column type, text in an id) is
    rejected as `uncastable_value` and counted instead of stopping the build. -#}
with

source as (

    select * from {{ source('news', 'reactions') }}

),

typed as (

    select
        cast(source.reaction_id as varchar) as reaction_id,
        cast(source.impression_id as varchar) as impression_id,
        {{ featurestore.try_cast_integer('source.user_id') }} as user_id,
        {{ featurestore.try_cast_integer('source.article_id') }} as article_id,
        {{ featurestore.raw_timestamp('source.reacted_at') }} as reacted_at,
        cast(source.kind as varchar) as reaction_kind,
        try_cast(source.dwell_seconds as double) as dwell_seconds,
        {{ featurestore.raw_timestamp('source.ingested_at') }} as ingested_at,
        source.dt,
        (source.user_id is not null and {{ featurestore.try_cast_integer('source.user_id') }} is null)
        or (source.article_id is not null and {{ featurestore.try_cast_integer('source.article_id') }} is null)
        or (source.reacted_at is not null and {{ featurestore.raw_timestamp('source.reacted_at') }} is null)
        or (source.dwell_seconds is not null and try_cast(source.dwell_seconds as double) is null)
        or (source.ingested_at is not null and {{ featurestore.raw_timestamp('source.ingested_at') }} is null)
            as has_uncastable_value
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
            when has_uncastable_value then 'uncastable_value'
            when reaction_id is null or user_id is null or article_id is null then 'null_key'
            when reacted_at is null or ingested_at is null then 'null_timestamp'
            when
                length(reaction_id) > {{ var('max_string_length') }}
                or length(impression_id) > {{ var('max_string_length') }}
                or length(reaction_kind) > {{ var('max_string_length') }}
                then 'string_too_long'
            {#- NaN, +-inf, negatives and huge values all fail `between` on both engines (DuckDB orders NaN
                above every number, Trino compares NaN false). #}
            when
                {{ featurestore.out_of_time_range('reacted_at') }}
                or {{ featurestore.out_of_time_range('ingested_at') }}
                or not dwell_seconds between 0 and {{ var('max_dwell_seconds') }}
                or user_id < 0
                or article_id < 0
                then 'out_of_range'
            when reacted_at > {{ dbt.dateadd('minute', var('max_clock_skew_minutes'), 'ingested_at') }}
                then 'future_timestamp'
            when coalesce(reaction_kind not in ('click', 'like', 'comment', 'share'), true) then 'unknown_kind'
        end as rejection_reason
    from typed

)

select * from final
