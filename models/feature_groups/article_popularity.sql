{% call(bounds) featurestore.feature_group() %}
with

impressions as (

    select
        impression_id,
        article_id,
        shown_at
    from {{ ref('stg_news__impressions') }}
    where {{ featurestore.reads(bounds, 'shown_at', '24h') }}

),

articles as (

    select
        article_id,
        published_at,
        category
    from {{ ref('stg_news__articles') }}

),

{# A click counts once per impression (its first click), within 24 hours of the impression. #}
clicks as (

    select
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
        and {{ featurestore.reads(bounds, 'reactions.reacted_at', '24h') }}

),

engagements as (

    select
        article_id,
        shown_at as engaged_at,
        shown_at,
        1 as impressions,
        0 as clicks
    from impressions

    union all

    select
        article_id,
        clicked_at as engaged_at,
        shown_at,
        0 as impressions,
        1 as clicks
    from clicks
    where click_number = 1 and clicked_at < shown_at + interval '24' hour

),

final as (

    select
        engagements.*,
        articles.published_at,
        articles.category
    from engagements
    left join articles
        on engagements.article_id = articles.article_id

)

select * from final
{% endcall %}
