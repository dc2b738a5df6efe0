{#- Fails with one row per combination of `columns` that occurs more than once. -#}
{% test unique_combination(model, columns) %}

with

grouped as (

    select
        {{ columns | join(', ') }},
        count(*) as occurrences
    from {{ model }}
    group by {{ columns | join(', ') }}

),

final as (

    select * from grouped
    where occurrences > 1

)

select * from final

{% endtest %}
