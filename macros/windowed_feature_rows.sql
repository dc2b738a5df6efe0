{#- Returns the SELECT of a windowed declarative group (see feature_group()): for each entity, one row at
    every bucket close where a value may change, from `bounds.recompute_from` to `bounds.recompute_until`,
    with the declared aggregates, the derived features and computed_at. Aggregates declared with `per`
    (a coarser key, e.g. a user's total beside a (user, category) pair) are computed on that key and put
    on each finer entity's rows; such entities also get a row whenever the coarser value changes while
    they have events in their longest window, and the coarser value is null on their rows once they have
    none (no more rows are emitted for them until their next event). -#}
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
        1 as fg_row
    from fg_values
    where {{ featurestore.in_bucket_range('fg_bucket', bounds.recompute_from, bounds.recompute_until, grain) }}

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
        {%- endif %}{{ ',' if not loop.last }}
        {% endfor %}
    from fg_aggregates

)

{{ featurestore.keep_computed_at(spec, 'fg_features', bounds) }}
{%- endmacro %}
