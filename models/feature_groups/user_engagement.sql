{% call(bounds) featurestore.feature_group() %}
with

impressions as (

    select
        impression_id,
        user_id,
        shown_at
    from {{ ref('stg_news__impressions') }}
    where {{ featurestore.reads(bounds, 'shown_at', '7d') }}

),

{# A click counts once per impression (its first click), within 7 days of the impression. #}
clicks as (

    select
        impressions.user_id,
        impressions.shown_at,
        reactions.reacted_at as clicked_at,
        cast(round(coalesce(reactions.dwell_seconds, 0) * 1000) as bigint) as dwell_ms,
        row_number() over (
            partition by reactions.impression_id order by reactions.reacted_at, reactions.reaction_id
        ) as click_number
    from {{ ref('stg_news__reactions') }} as reactions
    inner join impressions
        on reactions.impression_id = impressions.impression_id
    where
        reactions.reaction_kind = 'click'
        and reactions.reacted_at >= impressions.shown_at
        and {{ featurestore.reads(bounds, 'reactions.reacted_at', '7d') }}

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
    where click_number = 1 and clicked_at < shown_at + interval '7' day

)

select * from final
{% endcall %}
