{#- Returns the columns point_in_time_join() adds to the spine's, in its output order, as a list of
    {name, group, column}: each requested feature's output column, then the group's `time_output` (whose
    source `column` is the group's event time), group by group. For callers that must treat output columns
    by their source's type, e.g. the Athena training-set UNLOAD, which carries timestamps as text. -#}
{% macro pit_output_columns(feature_groups) %}
    {#- Called while dbt parses too, where it records the groups' refs; the specs are known at execution only. -#}
    {%- set specs = featurestore.pit_feature_specs(feature_groups) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set outputs = [] -%}
    {%- for spec in specs -%}
        {%- for feature in spec.features -%}
            {%- do outputs.append({'name': feature.output, 'group': spec.name, 'column': feature.column}) -%}
        {%- endfor -%}
        {%- do outputs.append({'name': spec.time_output, 'group': spec.name, 'column': spec.event_time}) -%}
    {%- endfor -%}
    {{ return(outputs) }}
{% endmacro %}
