with

base as (

    select * from {{ ref('base_news__users') }}

),

final as (

    select
        user_id,
        signed_up_at,
        plan_name,
        ingested_at
    from base
    where rejection_reason is null

)

select * from final
