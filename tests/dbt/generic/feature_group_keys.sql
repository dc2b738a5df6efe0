{#- Data test for any feature group, from its contract: no two rows share the entity + event time, and
    none of those columns is null. Fails with one row per offending key. -#}
{% test feature_group_keys(model) %}
    {%- set keys = [] -%}
    {%- if execute -%}
        {%- set node = featurestore.feature_group_node(model.identifier, 'feature_group_keys') -%}
        {%- set contract = node.config.meta.feature_group -%}
        {%- do keys.extend(([contract.entity] if contract.entity is string else contract.entity) + [contract.event_time]) -%}
    {%- else -%}
        {%- do keys.append('1') -%}
    {%- endif -%}

with

grouped as (

    select
        {{ keys | join(',\n        ') }},
        count(*) as occurrences
    from {{ model }}
    group by {{ keys | join(', ') }}

),

final as (

    select * from grouped
    where
        occurrences > 1
        or {{ keys | join(' is null\n        or ') }} is null

)

select * from final

{% endtest %}
