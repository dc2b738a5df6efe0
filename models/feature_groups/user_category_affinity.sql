{% call(bounds) featurestore.feature_group() %}
with

clicks as (

    {{ featurestore.clicked_impressions(bounds, '30d') }}

),

articles as (

    select
        article_id,
        category
    from {{ ref('stg_news__articles') }}

),

final as (

    select
        clicks.user_id,
        articles.category,
        clicks.clicked_at,
        clicks.shown_at,
        1 as clicks
    from clicks
    inner join articles
        on clicks.article_id = articles.article_id
    where articles.category is not null

)

select * from final
{% endcall %}
