with

source as (

    select * from {{ source('news', 'users') }}

),

typed as (

    select
        cast(id as bigint) as user_id,
        {{ featurestore.cast_timestamp('signed_up_at') }} as signed_up_at,
        cast(plan as varchar) as plan_name,
        {{ featurestore.cast_timestamp('ingested_at') }} as ingested_at
    from source

),

numbered as (

    select
        *,
        row_number() over (
            partition by user_id order by ingested_at desc
        ) as version_number
    from typed

),

final as (

    select
        user_id,
        signed_up_at,
        plan_name,
        ingested_at,
        case
            when user_id is null then 'null_key'
            when version_number > 1 then 'duplicate'
        end as rejection_reason
    from numbered

)

select * from final
