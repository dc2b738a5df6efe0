{#- Fails with one row per non-null value of `column_name` outside [min_value, max_value]
    (either bound may be omitted). -#}
{% test value_between(model, column_name, min_value=none, max_value=none) %}

with

final as (

    select {{ column_name }} as out_of_range_value
    from {{ model }}
    where {{ column_name }} is not null
        and (
            false
            {% if min_value is not none %}or {{ column_name }} < {{ min_value }}{% endif %}
            {% if max_value is not none %}or {{ column_name }} > {{ max_value }}{% endif %}
        )

)

select * from final

{% endtest %}
