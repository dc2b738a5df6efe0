{#- Appends {name, source} to `outputs`, the value columns of a feature group being declared, or raises the
    named declaration error [duplicate_output] when the name is already produced or is `reserved` (the
    entity, the event time, computed_at). -#}
{% macro feature_group_add_output(model_name, where, name, source, outputs, reserved) %}
    {%- if name in outputs | map(attribute='name') | list or name in reserved -%}
        {{ featurestore.feature_group_error(model_name, 'duplicate_output', where ~ ": output column '" ~ name
            ~ "' is produced twice (or clashes with a key, the event time or computed_at); rename one of them") }}
    {%- endif -%}
    {%- do outputs.append({'name': name, 'source': source}) -%}
{% endmacro %}
