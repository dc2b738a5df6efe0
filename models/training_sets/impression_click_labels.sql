{#-
    The spine of the click-through training set: one row per impression, labelled with whether the user
    clicked it within `click_label_minutes` (a project var). Impressions shown less than that before the
    newest impression are left out: their label is not known yet.
-#}
{%- set label_window = featurestore.interval_literal(var('click_label_minutes') * 60) -%}

with

impressions as (

    select
        impression_id,
        user_id,
        article_id,
        shown_at,
        feed_position,
        surface
    from {{ ref('stg_news__impressions') }}

),

articles as (

    select
        article_id,
        category
    from {{ ref('stg_news__articles') }}

),

first_clicks as (

    select
        impression_id,
        min(reacted_at) as first_clicked_at
    from {{ ref('stg_news__reactions') }}
    where reaction_kind = 'click'
    group by impression_id

),

observed as (

    select max(shown_at) as last_shown_at
    from {{ ref('stg_news__impressions') }}

),

final as (

    select
        impressions.impression_id,
        impressions.user_id,
        impressions.article_id,
        articles.category,
        impressions.shown_at,
        impressions.feed_position,
        impressions.surface,
        coalesce(
            first_clicks.first_clicked_at >= impressions.shown_at
            and first_clicks.first_clicked_at < impressions.shown_at + {{ label_window }},
            false
        ) as is_clicked
    from impressions
    left join articles
        on impressions.article_id = articles.article_id
    left join first_clicks
        on impressions.impression_id = first_clicks.impression_id
    cross join observed
    where impressions.shown_at + {{ label_window }} <= observed.last_shown_at

)

select * from final
