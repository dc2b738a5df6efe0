{#- Returns a SELECT of the news service's clicked impressions, the business definition of a click that the
    click-counting feature groups share: one row per impression with a click, at its first click
    (impression_id, user_id, article_id, shown_at, clicked_at, dwell_ms of that click, a null dwell as 0),
    when that first click came within `within` (a duration such as 7d) of the impression. Counting clicked
    impressions rather than click reactions keeps clicks <= impressions (CTR in [0, 1]).

    `bounds` is what `{% call(bounds) featurestore.feature_group() %}` receives: impressions and reactions are
    read from `within` before the run's read range (featurestore.reads()), so a micro-batch still sees the
    impression of each click it counts and whether that impression was clicked before. -#}
{% macro clicked_impressions(bounds, within) %}
    {%- set seconds = featurestore.duration_seconds(within) -%}
    select
        impression_id,
        user_id,
        article_id,
        shown_at,
        clicked_at,
        dwell_ms
    from (
        select
            impressions.impression_id,
            impressions.user_id,
            impressions.article_id,
            impressions.shown_at,
            reactions.reacted_at as clicked_at,
            cast(round(coalesce(reactions.dwell_seconds, 0) * 1000) as bigint) as dwell_ms,
            row_number() over (
                partition by reactions.impression_id order by reactions.reacted_at, reactions.reaction_id
            ) as click_number
        from {{ ref('stg_news__reactions') }} as reactions
        inner join {{ ref('stg_news__impressions') }} as impressions
            on reactions.impression_id = impressions.impression_id
        where
            reactions.reaction_kind = 'click'
            and reactions.reacted_at >= impressions.shown_at
            and {{ featurestore.reads(bounds, 'reactions.reacted_at', within) }}
            and {{ featurestore.reads(bounds, 'impressions.shown_at', within) }}
    ) as ranked_clicks
    where
        click_number = 1
        and clicked_at < shown_at + {{ featurestore.interval_literal(seconds) }}
{% endmacro %}
