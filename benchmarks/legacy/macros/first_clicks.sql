{#- Returns a SELECT of clicked impressions: one row per impression with at least one click, at its first
    click (impression_id, user_id, article_id, shown_at, clicked_at, dwell_ms of that first click, null
    dwell as 0). Only clicks made within `max_delay_seconds` of their impression count (a click on a week-old
    impression is not engagement with today's feed), and only those clicked in [read_from, until).

    Counting clicked impressions, not click reactions, keeps clicks <= impressions (CTR in [0, 1]) when a
    user clicks the same impression twice. To know which click came first and to find the impression of
    every click it returns, it reads impressions and clicks from `lookup_from` (read_from minus at least
    `max_delay_seconds`), so an incremental run finds exactly the clicks that a full build finds. -#}
{% macro first_clicks(impressions, reactions, bounds, max_delay_seconds) %}
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
                partition by impressions.impression_id order by reactions.reacted_at, reactions.reaction_id
            ) as click_number
        from {{ reactions }} as reactions
        inner join {{ impressions }} as impressions
            on reactions.impression_id = impressions.impression_id
        where
            reactions.reaction_kind = 'click'
            and reactions.reacted_at >= impressions.shown_at
            and {{ featurestore.in_time_range('reactions.reacted_at', bounds.lookup_from, bounds.recompute_until) }}
            and {{ featurestore.in_time_range('impressions.shown_at', bounds.lookup_from, bounds.recompute_until) }}
    ) as ranked_clicks
    where
        click_number = 1
        and clicked_at < {{ dbt.dateadd('second', max_delay_seconds, 'shown_at') }}
        and {{ featurestore.in_time_range('clicked_at', bounds.read_from) }}
{% endmacro %}
