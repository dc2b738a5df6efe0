{#- Returns the graph node of the model `group`, which must be a feature group (a model whose config.meta
    holds `feature_group`); a compiler error naming `context`, the group and the known feature groups
    otherwise. Only at execution time: the graph is empty while dbt parses. -#}
{% macro feature_group_node(group, context) %}
    {%- set models = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') | list -%}
    {%- set nodes = models | selectattr('name', 'equalto', group) | list -%}
    {%- if not nodes or ((nodes[0].config.meta or {}).get('feature_group')) is not mapping -%}
        {{ exceptions.raise_compiler_error(
            context ~ ": '" ~ group ~ "' is not a feature group (no config.meta.feature_group in its .yml); "
            ~ "feature groups: " ~ (models | selectattr('config.meta.feature_group', 'defined')
            | map(attribute='name') | sort | join(', '))
        ) }}
    {%- endif -%}
    {{ return(nodes[0]) }}
{% endmacro %}
