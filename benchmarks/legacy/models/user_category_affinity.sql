{#-
    Per (user, category) affinity: the user's clicks in the category over the last 30 days and their share
    of all the user's clicks, as of any time.

    A row holds the values of one (user, category) from `effective_at` until that pair's next row. Because
    the share depends on the user's clicks in every category, a row is emitted for each of the user's
    categories with clicks in the window whenever the user's total changes (hourly grain), and once more
    when a category's count drops to 0; from then on until its next click the pair's share is 0 and its
    user total is null (not tracked). Values only count clicks strictly before `effective_at`.
-#}
{%- set grain_seconds = 3600 -%}
{%- set windows = {'30d': 2592000} -%}
{%- set update_when_changed = featurestore.values_changed_condition(
    ['clicks_30d', 'user_clicks_30d', 'click_share_30d', 'last_clicked_at']
) -%}

{{ config(
    unique_key=['user_id', 'category', 'effective_at'],
    partitioned_by=(['day(effective_at)'] if target.type == 'athena' else none),
    incremental_predicates=[],
    update_condition=update_when_changed,
    merge_update_condition=update_when_changed,
) }}

{%- set bounds = featurestore.incremental_window(
    watermark_column='last_clicked_at',
    event_time_column='effective_at',
    lookback_hours=var('late_arrival_lookback_hours'),
    grain_seconds=grain_seconds,
    history_seconds=(windows.values() | max) + grain_seconds,
) -%}
{%- set pair_history = 'partition by grid.user_id, grid.category order by grid.bucket_number'
    ~ ' rows between unbounded preceding and current row' -%}

with

articles as (

    select
        article_id,
        category
    from {{ ref('stg_news__articles') }}

),

clicks as (

    select
        clicked_impressions.user_id,
        articles.category,
        clicked_impressions.shown_at,
        clicked_impressions.clicked_at
    from (
        {{ featurestore.first_clicks(
            impressions=ref('stg_news__impressions'),
            reactions=ref('stg_news__reactions'),
            bounds=bounds,
            max_delay_seconds=windows.values() | max,
        ) }}
    ) as clicked_impressions
    inner join articles
        on clicked_impressions.article_id = articles.article_id
    where articles.category is not null

),

events as (

    select
        user_id,
        category,
        clicked_at as counted_at,
        shown_at as anchored_at,
        1 as clicks
    from clicks

),

category_windowed as (

    {{ featurestore.sliding_window_sums(
        events='events',
        entity=['user_id', 'category'],
        measures=['clicks'],
        windows=windows,
        grain_seconds=grain_seconds,
    ) }}

),

user_windowed as (

    {{ featurestore.sliding_window_sums(
        events='events',
        entity=['user_id'],
        measures=['clicks'],
        windows=windows,
        grain_seconds=grain_seconds,
    ) }}

),

user_categories as (

    select distinct
        user_id,
        category
    from category_windowed

),

{# Every change of a category's count is also a change of its user's total, so the user's change points
   times the user's categories cover every row we need. #}
grid as (

    select
        user_windowed.user_id,
        user_categories.category,
        user_windowed.bucket_number,
        user_windowed.clicks_30d as user_clicks_30d
    from user_windowed
    inner join user_categories
        on user_windowed.user_id = user_categories.user_id

),

carried as (

    select
        grid.user_id,
        grid.category,
        grid.bucket_number,
        grid.user_clicks_30d,
        category_windowed.bucket_number is not null as is_category_change,
        {{ featurestore.last_non_null('category_windowed.clicks_30d', pair_history) }} as clicks_30d,
        {{ featurestore.last_non_null('category_windowed.last_counted_at', pair_history) }} as last_clicked_at
    from grid
    left join category_windowed
        on
            grid.user_id = category_windowed.user_id
            and grid.category = category_windowed.category
            and grid.bucket_number = category_windowed.bucket_number

),

final as (

    select
        user_id,
        category,
        {{ featurestore.bucket_start_at('bucket_number', grain_seconds) }} as effective_at,
        cast(clicks_30d as bigint) as clicks_30d,
        {# A pair at 0 gets no more rows until its next click, so the user's total would go stale on it. #}
        cast(case when clicks_30d > 0 then user_clicks_30d end as bigint) as user_clicks_30d,
        case
            when clicks_30d > 0 then cast(clicks_30d as double) / user_clicks_30d else 0.0
        end as click_share_30d,
        last_clicked_at,
        {{ featurestore.computed_at() }} as computed_at
    from carried
    where
        clicks_30d is not null
        and (clicks_30d > 0 or is_category_change)
        and {{ featurestore.in_bucket_range(
            'bucket_number', bounds.recompute_from, bounds.recompute_until, grain_seconds
        ) }}

)

select * from final
