{% call(bounds) featurestore.feature_group() %}
with

impressions as (

    select
        impression_id,
        user_id,
        article_id,
        shown_at
    from {{ ref('stg_news__impressions') }}
    where {{ featurestore.reads(bounds, 'shown_at', '30d') }}

),

{# A click counts once per impression (its first click), within 30 days of the impression. #}
clicks as (

    select
        impressions.user_id,
        impressions.article_id,
        impressions.shown_at,
        reactions.reacted_at as clicked_at,
        row_number() over (
            partition by reactions.impression_id order by reactions.reacted_at, reactions.reaction_id
        ) as click_number
    from {{ ref('stg_news__reactions') }} as reactions
    inner join impressions
        on reactions.impression_id = impressions.impression_id
    where
        reactions.reaction_kind = 'click'
        and reactions.reacted_at >= impressions.shown_at
        and {{ featurestore.reads(bounds, 'reactions.reacted_at', '30d') }}

),

final as (

    select
        clicks.user_id,
        articles.category,
        clicks.clicked_at,
        clicks.shown_at,
        1 as clicks
    from clicks
    inner join {{ ref('stg_news__articles') }} as articles
        on clicks.article_id = articles.article_id
    where
        clicks.click_number = 1
        and clicks.clicked_at < clicks.shown_at + interval '30' day
        and articles.category is not null

)

select * from final
{% endcall %}
