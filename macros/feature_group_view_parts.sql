{#- Returns what the BI views and feature_group_as_of() need of a feature group's contract, as a dict:
    entity (list of columns), event_time, features (every other declared column but computed_at), ttl (an
    interval literal; none for `ttl: none`). `columns`: the model's declared column names. -#}
{% macro feature_group_view_parts(relation, contract, columns) %}
    {%- set entity = [contract.entity] if contract.entity is string else contract.entity -%}
    {%- set ttl_seconds = featurestore.ttl_seconds(contract.ttl, relation ~ '') -%}
    {{ return({
        'entity': entity,
        'event_time': contract.event_time,
        'features': columns | reject('in', entity + [contract.event_time, 'computed_at']) | list,
        'ttl': none if ttl_seconds is none else featurestore.interval_literal(ttl_seconds),
    }) }}
{% endmacro %}
