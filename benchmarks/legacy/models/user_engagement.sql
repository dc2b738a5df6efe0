{#-
    Per-user engagement over sliding windows, as of any time.

    Each row holds the values of one user from `effective_at` until that user's next row. Events are
    bucketed to a 5-minute grain; a row is emitted at the close of every bucket in which a value changes:
    when events arrive, and when they leave a window (so a user idle since day 1 has 0 clicks_7d on day 10).
    A value at `effective_at` only counts events that happened strictly before it: no future leak.
    Clicks are clicked impressions (the first click on each, within 7 days of the impression); a click
    counts in a window while its impression is in that window, so CTR stays in [0, 1].
-#}
{%- set grain_seconds = 300 -%}
{%- set windows = {'1h': 3600, '24h': 86400, '7d': 604800} -%}
{%- set value_columns = [] -%}
{#- The columns the merge compares (all but the unique key and computed_at; checked against the YAML). -#}
{%- for name in windows -%}
{%- do value_columns.extend(['impressions_' ~ name, 'clicks_' ~ name]) -%}
{%- do value_columns.extend(['ctr_' ~ name, 'avg_dwell_seconds_' ~ name]) -%}
{%- endfor -%}
{%- do value_columns.append('last_active_at') -%}
{%- set update_when_changed = featurestore.values_changed_condition(value_columns) -%}

{{ config(
    unique_key=['user_id', 'effective_at'],
    partitioned_by=(['day(effective_at)'] if target.type == 'athena' else none),
    incremental_predicates=[],
    update_condition=update_when_changed,
    merge_update_condition=update_when_changed,
) }}

{%- set bounds = featurestore.incremental_window(
    watermark_column='last_active_at',
    event_time_column='effective_at',
    lookback_hours=var('late_arrival_lookback_hours'),
    grain_seconds=grain_seconds,
    history_seconds=(windows.values() | max) + grain_seconds,
) -%}

with

impressions as (

    select
        user_id,
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
        user_id,
        shown_at as counted_at,
        shown_at as anchored_at,
        1 as impressions,
        0 as clicks,
        cast(0 as bigint) as dwell_ms
    from impressions

    union all

    select
        user_id,
        clicked_at as counted_at,
        shown_at as anchored_at,
        0 as impressions,
        1 as clicks,
        dwell_ms
    from clicks

),

windowed as (

    {{ featurestore.sliding_window_sums(
        events='events',
        entity=['user_id'],
        measures=['impressions', 'clicks', 'dwell_ms'],
        windows=windows,
        grain_seconds=grain_seconds,
    ) }}

),

final as (

    select
        user_id,
        {{ featurestore.bucket_start_at('bucket_number', grain_seconds) }} as effective_at,
        {% for name in windows -%}
        cast(impressions_{{ name }} as bigint) as impressions_{{ name }},
        cast(clicks_{{ name }} as bigint) as clicks_{{ name }},
        case
            when impressions_{{ name }} > 0 then cast(clicks_{{ name }} as double) / impressions_{{ name }}
        end as ctr_{{ name }},
        case
            when clicks_{{ name }} > 0 then cast(dwell_ms_{{ name }} as double) / 1000 / clicks_{{ name }}
        end as avg_dwell_seconds_{{ name }},
        {% endfor -%}
        last_counted_at as last_active_at,
        {{ featurestore.computed_at() }} as computed_at
    from windowed
    where {{ featurestore.in_bucket_range(
        'bucket_number', bounds.recompute_from, bounds.recompute_until, grain_seconds
    ) }}

)

select * from final
