{#- Returns CTE definitions (`<prefix>_... as (...)`, comma-separated, no leading `with`) whose last one,
    `<prefix>_values`, holds one row per (keys, fg_bucket) at which a windowed value of `aggregates` may
    change, with one column per (aggregate, window) named by the window's `column`, and `fg_active`
    (whether the key has an event in its longest window). The value as of bucket start b counts the events
    of buckets < b, i.e. a row's values only count events strictly before its time.

    events:     a CTE with the key columns, fg_counted_at, fg_counted_bucket, fg_anchored_bucket (bucket n
                covers [(n - 1) * grain, n * grain): its events count from the bucket's close) and the measures.
    windows:    every window of the group (name -> seconds): rows are emitted where any of them changes.
    aggregates: the entries of feature_group_spec() to compute here (each with its `windows`).

    Algorithms (cost independent of the window length; see docs/architecture.md):
    - count, sum, avg, stddev, variance: running sums of +value / -value deltas per bucket, an event
      leaving window w when its *anchored* bucket is w old;
    - count_distinct (exact): per (key, value) the value enters a window at an occurrence whose previous
      occurrence is at least w older and leaves w after an occurrence with no later one within w: the
      same +1/-1 running sums;
    - max, min over a window: the per-bucket partial (a tile) combined over the buckets of the window with
      a RANGE frame; over lifetime, a running max;
    - last: the newest non-null value per bucket (ties: the greatest value), carried forward, and null once
      its bucket has left the window. -#}
{% macro windowed_value_ctes(prefix, events, keys, aggregates, windows, grain) %}
    {%- set key_list = keys | join(', ') -%}
    {%- set history = 'partition by ' ~ key_list ~ ' order by fg_bucket rows between unbounded preceding and current row' -%}
    {%- set longest = windows.values() | max -%}
    {#- Invertible streams: (stream name, per-event SQL, list of window dicts) -#}
    {%- set streams = [{'name': 'fg_events_n', 'sql': '1', 'windows': [{'name': 'longest', 'seconds': longest}]}] -%}
    {%- for aggregate in aggregates -%}
        {%- set stem = prefix ~ '_a' ~ loop.index0 -%}
        {%- set windowed = aggregate.windows | rejectattr('seconds', 'equalto', 'lifetime') | list -%}
        {%- do aggregate.update({'stem': stem}) -%}
        {%- set value = aggregate.column -%}
        {%- if aggregate.function == 'count' -%}
            {%- do streams.append({'name': stem ~ '_n', 'windows': windowed,
                'sql': ('case when ' ~ value ~ ' is not null then 1 else 0 end') if value else '1'}) -%}
        {%- elif aggregate.function == 'sum' -%}
            {%- do streams.append({'name': stem ~ '_s', 'windows': windowed, 'sql': 'coalesce(' ~ value ~ ', 0)'}) -%}
        {%- elif aggregate.function in ['avg', 'stddev', 'variance'] -%}
            {%- do streams.append({'name': stem ~ '_n', 'windows': windowed,
                'sql': 'case when ' ~ value ~ ' is not null then 1 else 0 end'}) -%}
            {%- do streams.append({'name': stem ~ '_s', 'windows': windowed,
                'sql': 'coalesce(cast(' ~ value ~ ' as double), 0)'}) -%}
            {%- if aggregate.function != 'avg' -%}
                {%- do streams.append({'name': stem ~ '_q', 'windows': windowed,
                    'sql': 'coalesce(cast(' ~ value ~ ' as double) * cast(' ~ value ~ ' as double), 0)'}) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set distinct_aggregates = aggregates | selectattr('function', 'equalto', 'count_distinct') | list -%}
    {%- set tile_aggregates = aggregates | selectattr('function', 'in', ['min', 'max', 'last']) | list -%}

{{ prefix }}_event_buckets as (

    select
        {{ key_list }},
        fg_counted_bucket,
        fg_anchored_bucket,
        {% for stream in streams -%}
        sum({{ stream.sql }}) as {{ stream.name }},
        {% endfor -%}
        count(*) as fg_event_count
    from {{ events }}
    group by {{ key_list }}, fg_counted_bucket, fg_anchored_bucket

),

{#- Each event bucket adds its values at its close and removes them when it leaves each window. -#}
{{ prefix }}_changes as (

    select
        {{ key_list }},
        fg_bucket,
        {% for stream in streams -%}
        {% for window in stream.windows -%}
        sum({{ stream.name }}_{{ loop.index0 }}) as {{ stream.name }}_{{ loop.index0 }},
        {% endfor -%}
        {% endfor -%}
        count(*) as fg_change_count
    from (
        select
            {{ key_list }},
            case
                when fg_offsets.fg_offset = 0 then fg_counted_bucket
                else fg_anchored_bucket + fg_offsets.fg_offset
            end as fg_bucket,
            {% for stream in streams -%}
            {% for window in stream.windows -%}
            {%- set width = window.seconds // grain -%}
            case
                when fg_counted_bucket >= fg_anchored_bucket + {{ width }} then 0
                when fg_offsets.fg_offset = 0 then {{ stream.name }}
                when fg_offsets.fg_offset = {{ width }} then -{{ stream.name }}
                else 0
            end as {{ stream.name }}_{{ loop.index0 }},
            {% endfor -%}
            {% endfor -%}
            fg_event_count
        from {{ prefix }}_event_buckets
        cross join (
            values
            (0)
            {%- for seconds in windows.values() | unique | sort %},
            ({{ seconds // grain }})
            {%- endfor %}
        ) as fg_offsets (fg_offset)
    ) as fg_deltas
    group by {{ key_list }}, fg_bucket

),
{%- for aggregate in tile_aggregates %}

{#- {{ aggregate.name }}: per-bucket partial ({{ aggregate.function }}) of the non-null values. -#}
{{ aggregate.stem }}_tiles as (

    {%- if aggregate.function == 'last' %}
    select
        {{ key_list }},
        fg_counted_bucket as fg_bucket,
        fg_value as fg_tile
    from (
        select
            {{ key_list }},
            fg_counted_bucket,
            {{ aggregate.column }} as fg_value,
            row_number() over (
                partition by {{ key_list }}, fg_counted_bucket
                order by fg_counted_at desc, {{ aggregate.column }} desc
            ) as fg_newest
        from {{ events }}
        where {{ aggregate.column }} is not null
    ) as fg_ranked
    where fg_newest = 1
    {%- else %}
    select
        {{ key_list }},
        fg_counted_bucket as fg_bucket,
        {{ aggregate.function }}({{ aggregate.column }}) as fg_tile
    from {{ events }}
    where {{ aggregate.column }} is not null
    group by {{ key_list }}, fg_counted_bucket
    {%- endif %}

),
{%- endfor %}
{%- for aggregate in distinct_aggregates %}
{%- set windowed = aggregate.windows | rejectattr('seconds', 'equalto', 'lifetime') | list %}

{#- {{ aggregate.name }}: each value's buckets, with its previous and next occurrence. -#}
{{ aggregate.stem }}_occurrences as (

    select
        {{ key_list }},
        fg_bucket,
        lag(fg_bucket) over (partition by {{ key_list }}, fg_value order by fg_bucket) as fg_previous_bucket,
        lead(fg_bucket) over (partition by {{ key_list }}, fg_value order by fg_bucket) as fg_next_bucket
    from (
        select distinct
            {{ key_list }},
            {{ aggregate.column }} as fg_value,
            fg_counted_bucket as fg_bucket
        from {{ events }}
        where {{ aggregate.column }} is not null
    ) as fg_values

),

{{ aggregate.stem }}_distinct_changes as (

    select
        {{ key_list }},
        fg_bucket,
        {% for window in windowed -%}
        sum(fg_delta_{{ loop.index0 }}) as fg_delta_{{ loop.index0 }}{{ ',' if not loop.last }}
        {% endfor -%}
    from (
        select
            {{ key_list }},
            fg_bucket,
            {% for window in windowed -%}
            case
                when fg_previous_bucket is null or fg_bucket - fg_previous_bucket >= {{ window.seconds // grain }} then 1
                else 0
            end as fg_delta_{{ loop.index0 }}{{ ',' if not loop.last }}
            {% endfor -%}
        from {{ aggregate.stem }}_occurrences
        {%- for leaving in windowed %}

        union all

        select
            {{ key_list }},
            fg_bucket + {{ leaving.seconds // grain }} as fg_bucket,
            {% for window in windowed -%}
            {%- if window.name == leaving.name -%}
            case
                when fg_next_bucket is null or fg_next_bucket - fg_bucket >= {{ window.seconds // grain }} then -1
                else 0
            end as fg_delta_{{ loop.index0 }}{{ ',' if not loop.last }}
            {% else -%}
            0 as fg_delta_{{ loop.index0 }}{{ ',' if not loop.last }}
            {% endif -%}
            {% endfor -%}
        from {{ aggregate.stem }}_occurrences
        {%- endfor %}
    ) as fg_distinct_deltas
    group by {{ key_list }}, fg_bucket

),
{%- endfor %}

{{ prefix }}_joined as (

    select
        {{ prefix }}_changes.*
        {%- for aggregate in tile_aggregates %},
        {{ aggregate.stem }}_tiles.fg_tile as {{ aggregate.stem }}_tile
        {%- endfor %}
        {%- for aggregate in distinct_aggregates %}
        {%- for window in aggregate.windows %},
        coalesce({{ aggregate.stem }}_distinct_changes.fg_delta_{{ loop.index0 }}, 0) as {{ aggregate.stem }}_dd_{{ loop.index0 }}
        {%- endfor %}
        {%- endfor %}
    from {{ prefix }}_changes
    {%- for aggregate in tile_aggregates %}
    left join {{ aggregate.stem }}_tiles
        on
            {% for key in keys -%}
            {{ prefix }}_changes.{{ key }} = {{ aggregate.stem }}_tiles.{{ key }} and
            {% endfor -%}
            {{ prefix }}_changes.fg_bucket = {{ aggregate.stem }}_tiles.fg_bucket
    {%- endfor %}
    {%- for aggregate in distinct_aggregates %}
    left join {{ aggregate.stem }}_distinct_changes
        on
            {% for key in keys -%}
            {{ prefix }}_changes.{{ key }} = {{ aggregate.stem }}_distinct_changes.{{ key }} and
            {% endfor -%}
            {{ prefix }}_changes.fg_bucket = {{ aggregate.stem }}_distinct_changes.fg_bucket
    {%- endfor %}

),

{{ prefix }}_running as (

    select
        {{ key_list }},
        fg_bucket,
        {% for stream in streams -%}
        {% for window in stream.windows -%}
        sum({{ stream.name }}_{{ loop.index0 }}) over ({{ history }}) as {{ stream.name }}_{{ loop.index0 }},
        {% endfor -%}
        {% endfor -%}
        {% for aggregate in distinct_aggregates -%}
        {% for window in aggregate.windows -%}
        sum({{ aggregate.stem }}_dd_{{ loop.index0 }}) over ({{ history }}) as {{ aggregate.stem }}_d_{{ loop.index0 }},
        {% endfor -%}
        {% endfor -%}
        {% for aggregate in tile_aggregates -%}
        {%- set tile = aggregate.stem ~ '_tile' -%}
        {% for window in aggregate.windows -%}
        {%- if aggregate.function == 'last' -%}
        {%- if loop.first -%}
        {{ featurestore.last_non_null(tile, history) }} as {{ aggregate.stem }}_last,
        {{ featurestore.last_non_null('case when ' ~ tile ~ ' is not null then fg_bucket end', history) }}
            as {{ aggregate.stem }}_last_bucket,
        {% endif -%}
        {%- elif window.seconds == 'lifetime' -%}
        {{ aggregate.function }}({{ tile }}) over ({{ history }}) as {{ aggregate.stem }}_t_{{ loop.index0 }},
        {% else -%}
        {{ aggregate.function }}({{ tile }}) over (
            partition by {{ key_list }}
            order by fg_bucket
            range between {{ window.seconds // grain - 1 }} preceding and current row
        ) as {{ aggregate.stem }}_t_{{ loop.index0 }},
        {% endif -%}
        {% endfor -%}
        {% endfor -%}
        1 as fg_row
    from {{ prefix }}_joined

),

{{ prefix }}_values as (

    select
        {{ key_list }},
        fg_bucket,
        {% for aggregate in aggregates -%}
        {% for window in aggregate.windows -%}
        {%- set i = loop.index0 -%}
        {%- set w = '_' ~ i -%}
        {%- if aggregate.function == 'count' -%}
        {{ aggregate.stem }}_n_{{ i }}
        {%- elif aggregate.function == 'sum' -%}
        {{ aggregate.stem }}_s_{{ i }}
        {%- elif aggregate.function == 'avg' -%}
        case when {{ aggregate.stem }}_n_{{ i }} > 0 then {{ aggregate.stem }}_s_{{ i }} / {{ aggregate.stem }}_n_{{ i }} end
        {%- elif aggregate.function in ['variance', 'stddev'] -%}
        {%- set n, s, q = aggregate.stem ~ '_n_' ~ i, aggregate.stem ~ '_s_' ~ i, aggregate.stem ~ '_q_' ~ i -%}
        {%- set variance = 'greatest((' ~ q ~ ' - ' ~ s ~ ' * ' ~ s ~ ' / ' ~ n ~ ') / (' ~ n ~ ' - 1), 0)' -%}
        case when {{ n }} > 1 then {{ variance if aggregate.function == 'variance' else 'sqrt(' ~ variance ~ ')' }} end
        {%- elif aggregate.function == 'count_distinct' -%}
        {{ aggregate.stem }}_d_{{ i }}
        {%- elif aggregate.function == 'last' and window.seconds == 'lifetime' -%}
        {{ aggregate.stem }}_last
        {%- elif aggregate.function == 'last' -%}
        case
            when {{ aggregate.stem }}_last_bucket > fg_bucket - {{ window.seconds // grain }} then {{ aggregate.stem }}_last
        end
        {%- else -%}
        {{ aggregate.stem }}_t_{{ i }}
        {%- endif %} as {{ window.column }},
        {% endfor -%}
        {% endfor -%}
        fg_events_n_0 > 0 as fg_active
    from {{ prefix }}_running

)
{%- endmacro %}
