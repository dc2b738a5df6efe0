{#- Fails with one row per raw table whose rejected rows exceed `max_share` of its rows
    (dirty data rising is a pipeline incident, not something to drop quietly). -#}
{% test rejected_share_below(model, max_share) %}

with

rejected as (

    select
        source_table,
        sum(case when is_rejected then raw_rows else 0 end) as rejected_rows,
        sum(raw_rows) as total_rows
    from {{ model }}
    group by source_table

),

final as (

    select * from rejected
    where rejected_rows > {{ max_share }} * total_rows

)

select * from final

{% endtest %}
