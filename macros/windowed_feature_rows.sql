{#- Returns the SELECT of a windowed declarative group (see feature_group()): for each entity, one row at
    every bucket close where a value may change, from `bounds.recompute_from` to `bounds.recompute_until`,
    with the declared aggregates, the derived features and computed_at. Aggregates declared with `per`
    (a coarser key, e.g. a user's total beside a (user, category) pair) are computed on that key and put
    on each finer entity's rows; such entities also get a row whenever the coarser value changes while
    they have events in their longest window, and the coarser value is null on their rows once they have
    none (no more rows are emitted for them until their next event).

    A range backfill (`bounds.is_backfill`, [recompute_from, boundary_end)) also writes the rows that make
    its values right as of every time (docs/architecture.md#backfills), compared with the stored rows
    before the run (within literal bounds: a stored row older than the longest window and a grain holds
    empty windows):
    - at its start S, for each entity whose recomputed value as of S differs from the stored row valid
      just before S (also entities the recomputation sees no event for: their windows become empty,
      their lifetime values are kept), a row with the recomputed value;
    - at its end E (when bounded), for each entity whose stored row valid at E does not start at E and
      differs from the recomputation's value just before E, a row restoring the stored values; an entity
      with no stored row near E but active windows just before E gets a row with empty windows. -#}
{% macro windowed_feature_rows(spec, events_sql, bounds) %}
    {%- set grain = spec.grain -%}
    {%- set entity = spec.entity -%}
    {%- set fine = spec.aggregates | rejectattr('per', 'defined') | list -%}
    {%- set coarse = spec.aggregates | selectattr('per', 'defined') | list -%}
    {%- set coarse_key = coarse[0].per if coarse else [] -%}
    {%- set grid_history = 'partition by fg_entities.' ~ entity | join(', fg_entities.')
        ~ ' order by fg_coarse_values.fg_bucket rows between unbounded preceding and current row' -%}
    {%- set measures = [] -%}
    {%- for aggregate in spec.aggregates if aggregate.column and aggregate.column not in measures
        and aggregate.column not in entity -%}
        {%- do measures.append(aggregate.column) -%}
    {%- endfor -%}
    {%- set declared = spec.declared -%}
    {#- Value columns in the order of the YAML's `columns:` (feature_group_columns_check() made them agree). -#}
    {%- set output_names = spec.outputs | map(attribute='name') | list -%}
    {%- set outputs = declared.keys() | select('in', output_names) | list -%}
    {%- for name in output_names if name not in outputs -%}
        {%- do outputs.append(name) -%}
    {%- endfor -%}
    {%- set all_columns = {} -%}
    {%- for aggregate in spec.aggregates -%}
        {%- for window in aggregate.windows -%}
            {%- do all_columns.update({window.column: {'aggregate': aggregate, 'window': window}}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set boundaries = bounds.is_backfill -%}
    {%- if boundaries -%}
        {%- set reach = modules.datetime.timedelta(seconds=(spec.windows.values() | max) + grain) -%}
        {%- set start_at, end_at = bounds.recompute_from, bounds.boundary_end -%}
        {%- set start_bucket = featurestore.bucket_number_of(start_at, grain) -%}
        {%- set end_bucket = featurestore.bucket_number_of(end_at, grain) if end_at is not none else none -%}
        {#- The stored table may lack a column a new definition adds: null there. -#}
        {%- set stored_names = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
        {%- set stored = {} -%}
        {%- for name in outputs -%}
            {%- do stored.update({name: name if name in stored_names else 'null'}) -%}
        {%- endfor -%}
        {%- set key_match = [] -%}
        {%- for key in entity -%}
            {%- do key_match.append('{left}.' ~ key ~ ' = {right}.' ~ key) -%}
        {%- endfor -%}
        {%- set key_match = key_match | join(' and ') -%}
    {%- endif -%}

with

fg_events as (

    select
        {{ entity | join(', ') }},
        {{ spec.timestamp }} as fg_counted_at,
        {{ spec.anchor or spec.timestamp }} as fg_anchored_at
        {%- for measure in measures if measure != spec.timestamp %},
        {{ measure }}
        {%- endfor %}
    from (

{{ events_sql }}

    ) as fg_source
    where {{ featurestore.in_time_range(spec.timestamp, bounds.read_from, bounds.recompute_until) }}

),

fg_bucketed as (

    select
        *,
        {%- if spec.timestamp in measures %}
        fg_counted_at as {{ spec.timestamp }},
        {%- endif %}
        cast(floor({{ featurestore.epoch_seconds('fg_counted_at') }} / {{ grain }}) as bigint) + 1 as fg_counted_bucket,
        cast(floor({{ featurestore.epoch_seconds('fg_anchored_at') }} / {{ grain }}) as bigint) + 1 as fg_anchored_bucket
    from fg_events

),

{{ featurestore.windowed_value_ctes('fg_entity', 'fg_bucketed', entity, fine, spec.windows, grain) }},
{%- if coarse %}

{{ featurestore.windowed_value_ctes('fg_coarse', 'fg_bucketed', coarse_key, coarse, spec.windows, grain) }},

{#- Every change of an entity's values is a change of its coarser key's, so the coarser key's change
    points times its entities cover every row needed. -#}
fg_grid as (

    select
        {% for key in entity -%}
        fg_entities.{{ key }},
        {% endfor -%}
        fg_coarse_values.fg_bucket,
        {% for aggregate in coarse -%}
        {% for window in aggregate.windows -%}
        fg_coarse_values.{{ window.column }},
        {% endfor -%}
        {% endfor -%}
        fg_entity_values.fg_bucket is not null as fg_is_entity_change,
        {{ featurestore.last_non_null('fg_entity_values.fg_bucket', grid_history) }} as fg_entity_bucket,
        {{ featurestore.last_non_null('fg_entity_values.fg_active', grid_history) }} as fg_entity_active
    from (select distinct {{ entity | join(', ') }} from fg_entity_values) as fg_entities
    inner join fg_coarse_values
        on
            {% for key in coarse_key -%}
            fg_entities.{{ key }} = fg_coarse_values.{{ key }}{{ ' and' if not loop.last }}
            {% endfor %}
    left join fg_entity_values
        on
            {% for key in entity -%}
            fg_entities.{{ key }} = fg_entity_values.{{ key }} and
            {% endfor -%}
            fg_coarse_values.fg_bucket = fg_entity_values.fg_bucket

),

{#- The entity's values are those of its latest row; rows stop once it has no event in its longest window. -#}
fg_values as (

    select
        {% for key in entity -%}
        fg_grid.{{ key }},
        {% endfor -%}
        fg_grid.fg_bucket,
        {% for aggregate in fine -%}
        {% for window in aggregate.windows -%}
        fg_entity_values.{{ window.column }},
        {% endfor -%}
        {% endfor -%}
        {% for aggregate in coarse -%}
        {% for window in aggregate.windows -%}
        case when fg_grid.fg_entity_active then fg_grid.{{ window.column }} end as {{ window.column }},
        {% endfor -%}
        {% endfor -%}
        fg_grid.fg_entity_active as fg_active
    from fg_grid
    inner join fg_entity_values
        on
            {% for key in entity -%}
            fg_grid.{{ key }} = fg_entity_values.{{ key }} and
            {% endfor -%}
            fg_grid.fg_entity_bucket = fg_entity_values.fg_bucket
    where fg_grid.fg_is_entity_change or fg_grid.fg_entity_active

),
{%- else %}

fg_values as (

    select * from fg_entity_values

),
{%- endif %}
{%- if boundaries %}

{#- The stored rows before this run next to the range's start: the newest per entity before it. -#}
fg_stored_start as (

    select
        {% for key in entity -%}
        {{ key }},
        {% endfor -%}
        {% for name in outputs -%}
        {{ stored[name] }} as {{ name }}{{ ',' if not loop.last }}
        {% endfor -%}
    from (
        select
            {{ (entity + [spec.event_time] + (stored.values() | reject('equalto', 'null') | list)) | join(', ') }},
            row_number() over (partition by {{ entity | join(', ') }} order by {{ spec.event_time }} desc) as fg_newest
        from {{ this }}
        where {{ featurestore.in_time_range(spec.event_time, start_at - reach, start_at) }}
    ) as fg_history
    where fg_newest = 1

),

{#- The recomputed value as of the start: the entity's newest recomputed row at or before it. -#}
fg_recomputed_start as (

    select *
    from (
        select
            *,
            row_number() over (partition by {{ entity | join(', ') }} order by fg_bucket desc) as fg_newest
        from fg_values
        where fg_bucket <= {{ start_bucket }}
    ) as fg_history
    where fg_newest = 1

),

{#- A candidate row at the start for every entity without a recomputed row there (kept if it differs from
    the stored row, fg_checked): the recomputed value, or empty windows for an entity the recomputation
    has no event for. An entity whose stored row is older than the windows' reach had empty windows. -#}
fg_start as (

    select
        {% for key in entity -%}
        fg_recomputed_start.{{ key }},
        {% endfor -%}
        {{ start_bucket }} as fg_bucket,
        {% for name in all_columns -%}
        fg_recomputed_start.{{ name }},
        {% endfor -%}
        fg_recomputed_start.fg_active
    from fg_recomputed_start
    left join fg_stored_start
        on {{ key_match.format(left='fg_recomputed_start', right='fg_stored_start') }}
    where
        fg_recomputed_start.fg_bucket < {{ start_bucket }}
        and (fg_recomputed_start.fg_active or fg_stored_start.{{ entity[0] }} is not null)

    union all

    select
        {% for key in entity -%}
        fg_stored_start.{{ key }},
        {% endfor -%}
        {{ start_bucket }} as fg_bucket,
        {% for name, found in all_columns.items() -%}
        {{ featurestore.windowed_empty_value(found.aggregate, found.window,
            'fg_stored_start.' ~ name if name in outputs else 'null') }} as {{ name }},
        {% endfor -%}
        false as fg_active
    from fg_stored_start
    left join fg_recomputed_start
        on {{ key_match.format(left='fg_stored_start', right='fg_recomputed_start') }}
    where fg_recomputed_start.{{ entity[0] }} is null

),
{%- if end_at is not none %}

{#- The stored rows before this run next to the range's end: the newest per entity at or before it. -#}
fg_stored_end as (

    select
        {% for key in entity -%}
        {{ key }},
        {% endfor -%}
        {{ spec.event_time }},
        {% for name in outputs -%}
        {{ stored[name] }} as {{ name }}{{ ',' if not loop.last }}
        {% endfor -%}
    from (
        select
            {{ (entity + [spec.event_time] + (stored.values() | reject('equalto', 'null') | list)) | join(', ') }},
            row_number() over (partition by {{ entity | join(', ') }} order by {{ spec.event_time }} desc) as fg_newest
        from {{ this }}
        where
            {{ spec.event_time }} >= {{ featurestore.timestamp_literal(end_at - reach) }}
            and {{ spec.event_time }} <= {{ featurestore.timestamp_literal(end_at) }}
    ) as fg_history
    where fg_newest = 1

),

{#- An entity whose windows are active just before the end and that has no stored row near it: its
    windows empty at the end (the kept history has no events for it there). -#}
fg_end as (

    select
        {% for key in entity -%}
        fg_recomputed_end.{{ key }},
        {% endfor -%}
        {{ end_bucket }} as fg_bucket,
        {% for name, found in all_columns.items() -%}
        {{ featurestore.windowed_empty_value(found.aggregate, found.window, 'fg_recomputed_end.' ~ name) }} as {{ name }},
        {% endfor -%}
        false as fg_active
    from (
        select
            *,
            row_number() over (partition by {{ entity | join(', ') }} order by fg_bucket desc) as fg_newest
        from fg_values
        where fg_bucket < {{ end_bucket }}
    ) as fg_recomputed_end
    left join fg_stored_end
        on {{ key_match.format(left='fg_recomputed_end', right='fg_stored_end') }}
    where
        fg_recomputed_end.fg_newest = 1
        and fg_recomputed_end.fg_active
        and fg_stored_end.{{ entity[0] }} is null

),
{%- endif %}

{#- fg_boundary: 0 a recomputed row of the range, 1 a start candidate, 2 an end row. -#}
{%- set sources = [('fg_values', featurestore.in_bucket_range('fg_bucket', start_at, end_at, grain)), ('fg_start', none)]
    + ([('fg_end', none)] if end_at is not none else []) %}
fg_candidates as (
    {%- for source, condition in sources %}

    select
        {{ entity | join(', ') }},
        fg_bucket,
        {% for name in all_columns -%}
        {{ name }},
        {% endfor -%}
        {{ loop.index0 }} as fg_boundary
    from {{ source }}
    {%- if condition %}
    where {{ condition }}
    {%- endif %}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),
{%- endif %}

fg_aggregates as (

    select
        {{ entity | join(', ') }},
        fg_bucket,
        {% for name, found in all_columns.items() -%}
        {%- set data_type = (declared.get(name) or {}).get('data_type') -%}
        {%- if data_type and found.aggregate.output and data_type | lower == 'timestamp' -%}
        {{ featurestore.cast_timestamp(name) }} as {{ name }},
        {% elif data_type and found.aggregate.output -%}
        cast({{ name }} as {{ data_type }}) as {{ name }},
        {% else -%}
        {{ name }},
        {% endif -%}
        {% endfor -%}
        {% if boundaries -%}
        fg_boundary
    from fg_candidates
        {%- else -%}
        1 as fg_row
    from fg_values
    where {{ featurestore.in_bucket_range('fg_bucket', bounds.recompute_from, bounds.recompute_until, grain) }}
        {%- endif %}

),

fg_features as (

    select
        {% for key in entity -%}
        {{ key }},
        {% endfor -%}
        {{ featurestore.bucket_start_at('fg_bucket', grain) }} as {{ spec.event_time }},
        {% for output in outputs -%}
        {%- set derived = spec.derived | selectattr('name', 'equalto', output) | list -%}
        {%- if derived -%}
        {%- set expression = namespace(sql=derived[0].sql) -%}
        {%- if derived[0].window is not none -%}
            {#- Each aggregate name stands for its column over this derived feature's window. -#}
            {%- for name in derived[0].names | unique -%}
                {%- set found = namespace(column=name) -%}
                {%- for aggregate in spec.aggregates if aggregate.name == name -%}
                    {%- for window in aggregate.windows if window.name == derived[0].window -%}
                        {%- set found.column = window.column -%}
                    {%- endfor -%}
                {%- endfor -%}
                {%- set expression.sql = modules.re.sub("(?<![\\w.'])" ~ name ~ "(?![\\w'(])", found.column, expression.sql) -%}
            {%- endfor -%}
        {%- endif -%}
        {%- set data_type = (declared.get(output) or {}).get('data_type') -%}
        {%- if data_type and data_type | lower == 'timestamp' -%}
        {{ featurestore.cast_timestamp('(' ~ expression.sql ~ ')') }} as {{ output }}
        {%- elif data_type -%}
        cast(({{ expression.sql }}) as {{ data_type }}) as {{ output }}
        {%- else -%}
        {{ expression.sql }} as {{ output }}
        {%- endif -%}
        {%- else -%}
        {{ output }}
        {%- endif %}{{ ',' if not loop.last or boundaries }}
        {% endfor -%}
        {%- if boundaries %}
        fg_boundary
        {%- endif %}
    from fg_aggregates

)
{%- if boundaries %},

{{ featurestore.windowed_boundary_rows(spec, outputs, stored, start_at, end_at, reach, key_match) }}

{{ featurestore.keep_computed_at(spec, 'fg_rows', bounds) }}
{%- else %}

{{ featurestore.keep_computed_at(spec, 'fg_features', bounds) }}
{%- endif %}
{%- endmacro %}
