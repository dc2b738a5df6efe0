{% call(bounds) featurestore.feature_group() %}
with

impressions as (

    select
        article_id,
        shown_at
    from {{ ref('stg_news__impressions') }}
    where {{ featurestore.reads(bounds, 'shown_at') }}

),

articles as (

    select
        article_id,
        published_at,
        category
    from {{ ref('stg_news__articles') }}

),

clicks as (

    {{ featurestore.clicked_impressions(bounds, '24h') }}

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
