{%- set sources = ['articles', 'users', 'impressions', 'reactions'] -%}

with

{% for source_name in sources %}
{{ source_name }}_outcomes as (

    select
        '{{ source_name }}' as source_table,
        coalesce(rejection_reason, 'kept') as outcome,
        count(*) as raw_rows
    from {{ ref('base_news__' ~ source_name) }}
    group by 1, 2

),

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
