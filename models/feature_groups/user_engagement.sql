{% call(bounds) featurestore.feature_group() %}
with

impressions as (

    select
        user_id,
        shown_at
    from {{ ref('stg_news__impressions') }}
    where {{ featurestore.reads(bounds, 'shown_at') }}

),

clicks as (

    {{ featurestore.clicked_impressions(bounds, '7d') }}

),

final as (

    select
        user_id,
        shown_at as active_at,
        shown_at,
        1 as impressions,
        0 as clicks,
        cast(null as bigint) as dwell_ms
    from impressions

    union all

    select
        user_id,
        clicked_at as active_at,
        shown_at,
        0 as impressions,
        1 as clicks,
        dwell_ms
    from clicks

)

select * from final
{% endcall %}
