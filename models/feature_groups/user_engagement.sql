{#-
    Per-user engagement over sliding windows, as of any time.

    Each row holds the values of one user from `effective_at` until that user's next row. Events are
    bucketed to a 5-minute grain; a row is emitted at the close of every bucket in which a value changes:
    when events arrive, and when they leave a window (so a user idle since day 1 has 0 clicks_7d on day 10).
    A value at `effective_at` only counts events that happened strictly before it: no future leak.

    Implementation: every event contributes +n when it enters a window and -n when it leaves; the
    features are running sums of these deltas per user. A click counts in a window while its impression
    is in that window, so clicks never exceed impressions (CTR stays in [0, 1]).
-#}
{%- set grain_seconds = 300 -%}
{%- set windows = {'1h': 3600, '24h': 86400, '7d': 604800} -%}
{%- set user_history = 'partition by user_id order by bucket_number'
    ~ ' rows between unbounded preceding and current row' -%}

{{ config(
    unique_key=['user_id', 'effective_at'],
    partitioned_by=(['day(effective_at)'] if target.type == 'athena' else none),
    incremental_predicates=[],
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
        impression_id,
        user_id,
        shown_at
    from {{ ref('stg_news__impressions') }}
    {% if bounds.read_from is not none -%}
    where shown_at >= {{ featurestore.timestamp_literal(bounds.read_from) }}
    {%- endif %}

),

clicks as (

    select
        impressions.user_id,
        impressions.shown_at,
        reactions.reacted_at,
        cast(round(coalesce(reactions.dwell_seconds, 0) * 1000) as bigint) as dwell_ms
    from {{ ref('stg_news__reactions') }} as reactions
    inner join impressions
        on reactions.impression_id = impressions.impression_id
    where
        reactions.reaction_kind = 'click'
        and reactions.reacted_at >= impressions.shown_at
        {% if bounds.read_from is not none -%}
        and reactions.reacted_at >= {{ featurestore.timestamp_literal(bounds.read_from) }}
        {% endif %}

),

{# Bucket n covers [n * grain, (n + 1) * grain); its events become visible at its close, bucket n + 1. #}
impression_buckets as (

    select
        user_id,
        cast(floor({{ featurestore.epoch_seconds('shown_at') }} / {{ grain_seconds }}) as bigint) + 1
            as close_bucket,
        count(*) as impressions,
        max(shown_at) as last_event_at
    from impressions
    group by 1, 2

),

click_buckets as (

    select
        user_id,
        cast(floor({{ featurestore.epoch_seconds('shown_at') }} / {{ grain_seconds }}) as bigint) + 1
            as shown_close_bucket,
        cast(floor({{ featurestore.epoch_seconds('reacted_at') }} / {{ grain_seconds }}) as bigint) + 1
            as close_bucket,
        count(*) as clicks,
        sum(dwell_ms) as dwell_ms,
        max(reacted_at) as last_event_at
    from clicks
    group by 1, 2, 3

),

{# Offset 0 is where an event enters every window; offset n is where it leaves the window of n buckets. #}
window_offsets as (

    select offset_buckets
    from (
        values
        (0)
        {%- for seconds in windows.values() %},
        ({{ seconds // grain_seconds }})
        {%- endfor %}
    ) as offset_values (offset_buckets)

),

deltas as (

    select
        impression_buckets.user_id,
        impression_buckets.close_bucket + window_offsets.offset_buckets as bucket_number,
        {% for name, seconds in windows.items() -%}
        case
            when window_offsets.offset_buckets = 0 then impression_buckets.impressions
            when window_offsets.offset_buckets = {{ seconds // grain_seconds }} then -impression_buckets.impressions
            else 0
        end as impressions_{{ name }}_delta,
        0 as clicks_{{ name }}_delta,
        0 as dwell_ms_{{ name }}_delta,
        {% endfor -%}
        case when window_offsets.offset_buckets = 0 then impression_buckets.last_event_at end as last_event_at
    from impression_buckets
    cross join window_offsets

    union all

    {#- A click counts in a window from its own bucket_number until its impression's bucket_number leaves the window. #}
    select
        click_buckets.user_id,
        case
            when window_offsets.offset_buckets = 0 then click_buckets.close_bucket
            else click_buckets.shown_close_bucket + window_offsets.offset_buckets
        end as bucket_number,
        {% for name, seconds in windows.items() -%}
        {%- set width = seconds // grain_seconds -%}
        0 as impressions_{{ name }}_delta,
        case
            when click_buckets.close_bucket >= click_buckets.shown_close_bucket + {{ width }} then 0
            when window_offsets.offset_buckets = 0 then click_buckets.clicks
            when window_offsets.offset_buckets = {{ width }} then -click_buckets.clicks
            else 0
        end as clicks_{{ name }}_delta,
        case
            when click_buckets.close_bucket >= click_buckets.shown_close_bucket + {{ width }} then 0
            when window_offsets.offset_buckets = 0 then click_buckets.dwell_ms
            when window_offsets.offset_buckets = {{ width }} then -click_buckets.dwell_ms
            else 0
        end as dwell_ms_{{ name }}_delta,
        {% endfor -%}
        case when window_offsets.offset_buckets = 0 then click_buckets.last_event_at end as last_event_at
    from click_buckets
    cross join window_offsets

),

changes as (

    select
        user_id,
        bucket_number,
        {% for name in windows -%}
        sum(impressions_{{ name }}_delta) as impressions_{{ name }}_delta,
        sum(clicks_{{ name }}_delta) as clicks_{{ name }}_delta,
        sum(dwell_ms_{{ name }}_delta) as dwell_ms_{{ name }}_delta,
        {% endfor -%}
        max(last_event_at) as last_event_at
    from deltas
    group by 1, 2

),

running_totals as (

    select
        user_id,
        bucket_number,
        {% for name in windows -%}
        sum(impressions_{{ name }}_delta) over ({{ user_history }}) as impressions_{{ name }},
        sum(clicks_{{ name }}_delta) over ({{ user_history }}) as clicks_{{ name }},
        sum(dwell_ms_{{ name }}_delta) over ({{ user_history }}) as dwell_ms_{{ name }},
        {% endfor -%}
        max(last_event_at) over ({{ user_history }}) as last_active_at
    from changes

),

final as (

    select
        user_id,
        {{ featurestore.cast_timestamp(
            dbt.dateadd('second', 'bucket_number * ' ~ grain_seconds, "timestamp '1970-01-01 00:00:00'")
        ) }} as effective_at,
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
        last_active_at
    from running_totals
    {% if bounds.recompute_from is not none -%}
    {%- set recompute_from_seconds = (bounds.recompute_from - modules.datetime.datetime(1970, 1, 1)).total_seconds() %}
    where bucket_number >= {{ recompute_from_seconds | int // grain_seconds }}
    {%- endif %}

)

select * from final
