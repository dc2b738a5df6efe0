{#- Returns a SELECT of sliding-window sums per entity, one row per (entity, bucket_number) at which a sum
    may change: when events arrive and when they leave a window. The value as of any time is therefore
    the entity's latest row at or before that time.

    events:        a relation or CTE with the entity columns, `counted_at` (when the event starts to count),
                   `anchored_at` (the time whose age decides when it stops counting: the event itself, or
                   e.g. the impression a click belongs to) and one numeric column per measure.
    entity:        list of entity key columns.
    measures:      list of measure columns to sum.
    windows:       dict of window name -> length in seconds, e.g. {'1h': 3600, '7d': 604800}.
    grain_seconds: bucket width. Bucket n covers [n * grain, (n + 1) * grain); its events count from its
                   close, so a row at a bucket close only counts events strictly before that time.

    Output columns: the entity columns, bucket_number (the row holds from bucket_number * grain_seconds
    seconds after the epoch), <measure>_<window> for every pair, and last_counted_at (the newest
    counted_at so far). An event counts in window W from its counted bucket while its anchored bucket is
    younger than W, so a click never outlives its impression in a window.

    Each event adds +value at the bucket it starts counting and -value at the bucket it leaves each window;
    running sums of these deltas give the windowed sums. Cost: one sort of (events x (windows + 1)) rows
    per entity, whatever the window lengths. -#}
{% macro sliding_window_sums(events, entity, measures, windows, grain_seconds) %}
    {%- set entity_list = entity | join(', ') -%}
    {%- set history = 'partition by ' ~ entity_list
        ~ ' order by bucket_number rows between unbounded preceding and current row' -%}
    select
        {{ entity_list }},
        bucket_number,
        {% for measure in measures -%}
        {% for name in windows -%}
        sum({{ measure }}_{{ name }}_delta) over ({{ history }}) as {{ measure }}_{{ name }},
        {% endfor -%}
        {% endfor -%}
        max(last_counted_at) over ({{ history }}) as last_counted_at
    from (
        select
            {{ entity_list }},
            bucket_number,
            {% for measure in measures -%}
            {% for name in windows -%}
            sum({{ measure }}_{{ name }}_delta) as {{ measure }}_{{ name }}_delta,
            {% endfor -%}
            {% endfor -%}
            max(last_counted_at) as last_counted_at
        from (
            select
                {{ entity_list }},
                case
                    when window_offsets.offset_buckets = 0 then event_buckets.counted_bucket
                    else event_buckets.anchored_bucket + window_offsets.offset_buckets
                end as bucket_number,
                {% for measure in measures -%}
                {% for name, seconds in windows.items() -%}
                {%- set width = seconds // grain_seconds -%}
                case
                    when event_buckets.counted_bucket >= event_buckets.anchored_bucket + {{ width }} then 0
                    when window_offsets.offset_buckets = 0 then event_buckets.{{ measure }}
                    when window_offsets.offset_buckets = {{ width }} then -event_buckets.{{ measure }}
                    else 0
                end as {{ measure }}_{{ name }}_delta,
                {% endfor -%}
                {% endfor -%}
                case when window_offsets.offset_buckets = 0 then event_buckets.last_counted_at end as last_counted_at
            from (
                select
                    {{ entity_list }},
                    counted_bucket,
                    anchored_bucket,
                    {% for measure in measures -%}
                    sum({{ measure }}) as {{ measure }},
                    {% endfor -%}
                    max(counted_at) as last_counted_at
                from (
                    select
                        *,
                        cast(floor({{ featurestore.epoch_seconds('counted_at') }} / {{ grain_seconds }}) as bigint)
                        + 1 as counted_bucket,
                        cast(floor({{ featurestore.epoch_seconds('anchored_at') }} / {{ grain_seconds }}) as bigint)
                        + 1 as anchored_bucket
                    from {{ events }}
                ) as bucketed_events
                group by {{ entity_list }}, counted_bucket, anchored_bucket
            ) as event_buckets
            cross join (
                values
                (0)
                {%- for seconds in windows.values() %},
                ({{ seconds // grain_seconds }})
                {%- endfor %}
            ) as window_offsets (offset_buckets)
        ) as deltas
        group by {{ entity_list }}, bucket_number
    ) as changes
{% endmacro %}
