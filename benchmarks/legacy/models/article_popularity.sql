{#-
    Per-article popularity over short sliding windows, as of any time.

    Each row holds the values of one article from `effective_at` until that article's next row; rows are
    emitted at the close of every 5-minute bucket in which a value changes, including when impressions
    leave a window. Clicks are clicked impressions (the first click on each, within 24 hours of the
    impression); a click counts while its impression is in the window, so CTR stays in [0, 1].
    Article age at a time t is t - published_at (published_at is a static attribute carried on each row).
-#}
{%- set grain_seconds = 300 -%}
{%- set windows = {'15m': 900, '1h': 3600, '24h': 86400} -%}
{%- set value_columns = [] -%}
{#- The columns the merge compares (all but the unique key and computed_at; checked against the YAML). -#}
{%- for name in windows -%}
{%- do value_columns.extend(['impressions_' ~ name, 'clicks_' ~ name, 'ctr_' ~ name]) -%}
{%- endfor -%}
{%- do value_columns.extend([
    'clicks_per_minute_15m', 'click_acceleration_15m', 'published_at', 'category', 'last_engaged_at'
]) -%}
{%- set update_when_changed = featurestore.values_changed_condition(value_columns) -%}

{{ config(
    unique_key=['article_id', 'effective_at'],
    partitioned_by=(['day(effective_at)'] if target.type == 'athena' else none),
    incremental_predicates=[],
    update_condition=update_when_changed,
    merge_update_condition=update_when_changed,
) }}

{%- set bounds = featurestore.incremental_window(
    watermark_column='last_engaged_at',
    event_time_column='effective_at',
    lookback_hours=var('late_arrival_lookback_hours'),
    grain_seconds=grain_seconds,
    history_seconds=(windows.values() | max) + grain_seconds,
) -%}

with

impressions as (

    select
        article_id,
        shown_at
    from {{ ref('stg_news__impressions') }}
    where {{ featurestore.in_time_range('shown_at', bounds.read_from, bounds.recompute_until) }}

),

clicks as (

    {{ featurestore.first_clicks(
        impressions=ref('stg_news__impressions'),
        reactions=ref('stg_news__reactions'),
        bounds=bounds,
        max_delay_seconds=windows.values() | max,
    ) }}

),

events as (

    select
        article_id,
        shown_at as counted_at,
        shown_at as anchored_at,
        1 as impressions,
        0 as clicks
    from impressions

    union all

    select
        article_id,
        clicked_at as counted_at,
        shown_at as anchored_at,
        0 as impressions,
        1 as clicks
    from clicks

),

windowed as (

    {{ featurestore.sliding_window_sums(
        events='events',
        entity=['article_id'],
        measures=['impressions', 'clicks'],
        windows=windows,
        grain_seconds=grain_seconds,
    ) }}

),

articles as (

    select
        article_id,
        published_at,
        category
    from {{ ref('stg_news__articles') }}

),

final as (

    select
        windowed.article_id,
        {{ featurestore.bucket_start_at('windowed.bucket_number', grain_seconds) }} as effective_at,
        {% for name in windows -%}
        cast(windowed.impressions_{{ name }} as bigint) as impressions_{{ name }},
        cast(windowed.clicks_{{ name }} as bigint) as clicks_{{ name }},
        case
            when windowed.impressions_{{ name }} > 0
                then cast(windowed.clicks_{{ name }} as double) / windowed.impressions_{{ name }}
        end as ctr_{{ name }},
        {% endfor -%}
        cast(windowed.clicks_15m as double) / 15 as clicks_per_minute_15m,
        cast(windowed.clicks_15m as double) * 4 - cast(windowed.clicks_1h as double) as click_acceleration_15m,
        articles.published_at,
        articles.category,
        windowed.last_counted_at as last_engaged_at,
        {{ featurestore.computed_at() }} as computed_at
    from windowed
    left join articles
        on windowed.article_id = articles.article_id
    where {{ featurestore.in_bucket_range(
        'windowed.bucket_number', bounds.recompute_from, bounds.recompute_until, grain_seconds
    ) }}

)

select * from final
