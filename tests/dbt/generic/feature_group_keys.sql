{#- Data test for any feature group, from its contract: no two rows share the entity + event time, and
    none of those columns is null. Returns the offending rows (a failure per row). -#}
{% test feature_group_keys(model) %}
    {%- set keys = [] -%}
    {%- if execute -%}
        {%- set node = featurestore.feature_group_node(model.identifier, 'feature_group_keys') -%}
        {%- set contract = node.config.meta.feature_group -%}
        {%- set entity = [contract.entity] if contract.entity is string else contract.entity -%}
        {%- do keys.extend(entity + [contract.event_time]) -%}
    {%- else -%}
        {%- do keys.append('1') -%}
    {%- endif -%}
    select
        {{ keys | join(', ') }},
        count(*) as rows_with_this_key
    from {{ model }}
    group by {{ keys | join(', ') }}
    having count(*) > 1 or {{ keys | join(' is null or ') }} is null
{% endtest %}
