{#- Typed and checked raw users, then the newest valid version of each id. Every raw column goes through a
    cast that gives null instead of failing (try_cast, raw_timestamp), so a row whose value does not cast is
    rejected as `uncastable_value` and counted instead of stopping the build. -#}
with

source as (

    select * from {{ source('news', 'users') }}

),

typed as (

    select
        {{ featurestore.try_cast_integer('source.id') }} as user_id,
        {{ featurestore.raw_timestamp('source.signed_up_at') }} as signed_up_at,
        cast(source.plan as varchar) as plan_name,
        {{ featurestore.raw_timestamp('source.ingested_at') }} as ingested_at,
        (source.id is not null and {{ featurestore.try_cast_integer('source.id') }} is null)
        or (source.signed_up_at is not null and {{ featurestore.raw_timestamp('source.signed_up_at') }} is null)
        or (source.ingested_at is not null and {{ featurestore.raw_timestamp('source.ingested_at') }} is null)
            as has_uncastable_value
    from source

),

checked as (

    select
        user_id,
        signed_up_at,
        plan_name,
        ingested_at,
        case
            when has_uncastable_value then 'uncastable_value'
            when user_id is null then 'null_key'
            when ingested_at is null then 'null_timestamp'
            when length(plan_name) > {{ var('max_string_length') }} then 'string_too_long'
            when
                {{ featurestore.out_of_time_range('signed_up_at') }}
                or {{ featurestore.out_of_time_range('ingested_at') }}
                or user_id < 0
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
            partition by user_id, row_rejection_reason is null order by ingested_at desc
        ) as version_number
    from checked

),

final as (

    select
        user_id,
        signed_up_at,
        plan_name,
        ingested_at,
        coalesce(
            row_rejection_reason,
            case when version_number > 1 then 'duplicate' end
        ) as rejection_reason
    from numbered

)

select * from final
