{#- Row checks (null keys, clock skew, unknown kinds) are in the base_* models. For the event tables, whose
    staging models de-duplicate incrementally, a second delivery of an id passes its row checks in base_*:
    this counts, over all raw rows, every delivery after an id's first as `duplicate`. -#}
{%- set sources = ['articles', 'users', 'impressions', 'reactions'] -%}
{%- set event_ids = {'impressions': 'impression_id', 'reactions': 'reaction_id'} -%}

with

{% for source_name in sources %}
{% if source_name in event_ids -%}
{{ source_name }}_deliveries as (

    select
        rejection_reason,
        {#- Partitioned by the reason too: only rows passing the row checks compete for first delivery. #}
        row_number() over (
            partition by {{ event_ids[source_name] }}, rejection_reason order by ingested_at
        ) as delivery_number
    from {{ ref('base_news__' ~ source_name) }}

),

{{ source_name }}_outcomes as (

    select
        '{{ source_name }}' as source_table,
        case
            when rejection_reason is not null then rejection_reason
            when delivery_number > 1 then 'duplicate'
            else 'kept'
        end as outcome,
        count(*) as raw_rows
    from {{ source_name }}_deliveries
    group by 1, 2

),
{%- else -%}
{{ source_name }}_outcomes as (

    select
        '{{ source_name }}' as source_table,
        coalesce(rejection_reason, 'kept') as outcome,
        count(*) as raw_rows
    from {{ ref('base_news__' ~ source_name) }}
    group by 1, 2

),
{%- endif %}

{% endfor %}
unioned as (

    {% for source_name in sources %}
    select * from {{ source_name }}_outcomes
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        source_table,
        outcome,
        raw_rows,
        outcome != 'kept' as is_rejected,
        cast(raw_rows as double) / sum(raw_rows) over (partition by source_table) as share_of_source
    from unioned

)

select * from final
