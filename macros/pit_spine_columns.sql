{#- Returns the spine's column names for point_in_time_join(): `spine_columns` when given, else the columns
    documented for the spine's model, seed or source in the graph, else the columns of the relation in the
    warehouse; an empty list when none of these can tell (e.g. a CTE, or while dbt parses). -#}
{% macro pit_spine_columns(spine, spine_columns=none) %}
    {%- if spine_columns is not none -%}
        {{ return(spine_columns | list) }}
    {%- endif -%}
    {%- if not execute or spine is string -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set rendered = spine | string -%}
    {%- for node in graph.nodes.values() | list + graph.sources.values() | list -%}
        {%- if node.get('relation_name') == rendered and node.columns -%}
            {{ return(node.columns.keys() | list) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(adapter.get_columns_in_relation(spine) | map(attribute='name') | list) }}
{% endmacro %}
