{#- Fails (one row with both counts) unless the model has exactly as many rows as `compare_model`, e.g. a
    training set and its spine: a join that drops or repeats rows shows up here. -#}
{% test row_count_matches(model, compare_model) %}

with

model_rows as (

    select count(*) as row_count from {{ model }}

),

compared_rows as (

    select count(*) as row_count from {{ compare_model }}

),

final as (

    select
        model_rows.row_count,
        compared_rows.row_count as compared_row_count
    from model_rows
    cross join compared_rows
    where model_rows.row_count != compared_rows.row_count

)

select * from final

{% endtest %}
