{#- Returns the final SELECT of a declarative group over the CTE `features` (keys, event time, value
    columns), adding `computed_at`: this run's start for new rows and rows whose values changed, the stored
    `computed_at` for rows recomputed with the same values. With the merge's update condition "computed_at
    differs" (feature_group()), unchanged rows are not rewritten, and computed_at keeps saying when a row's
    values last changed, which `featurestore sync` relies on. The stored rows are read within the run's
    literal bounds only (partition pruning on Athena). A range backfill stamps every row (its post-hook
    deletes the range's rows older than this run), as does a run whose table lacks a value column. -#}
{% macro keep_computed_at(spec, features, bounds) %}
    {%- set keys = spec.entity + [spec.event_time] -%}
    {%- set values = spec.outputs | map(attribute='name') | list -%}
    {%- set carry = is_incremental() and featurestore.backfill_range() is none and bounds.recompute_from is not none -%}
    {%- if carry -%}
        {%- set stored = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
        {%- set carry = (keys + values + ['computed_at']) | reject('in', stored) | list | length == 0 -%}
    {%- endif -%}
    {%- if not carry %}
select
    *,
    {{ featurestore.computed_at() }} as computed_at
from {{ features }}
    {%- else %}
select
    {{ features }}.*,
    case
        when
            fg_stored.computed_at is not null
            {% for column in values -%}
            and {{ features }}.{{ column }} is not distinct from fg_stored.{{ column }}
            {% endfor -%}
            then fg_stored.computed_at
        else {{ featurestore.computed_at() }}
    end as computed_at
from {{ features }}
left join (
    select
        {{ (keys + values) | join(', ') }},
        computed_at
    from {{ this }}
    where {{ featurestore.in_time_range(spec.event_time, bounds.recompute_from, bounds.recompute_until) }}
) as fg_stored
    on
        {% for key in keys -%}
        {{ features }}.{{ key }} = fg_stored.{{ key }}{{ ' and' if not loop.last }}
        {% endfor -%}
    {%- endif %}
{%- endmacro %}
