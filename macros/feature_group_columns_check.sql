{#- Returns nothing; raises a compiler error before the group's query runs when the analyst's SELECT lacks a
    column the declaration names ([missing_select_column], read from a zero-row query of the SELECT) or
    when the YAML's `columns:` and the generated columns differ ([undeclared_output], [unknown_column]). -#}
{% macro feature_group_columns_check(spec, events_sql) %}
    {%- set fail_prefix = "feature group " ~ spec.name ~ ": " -%}
    {%- if spec.kind == 'windowed' -%}
        {%- set needed = [('entity', spec.entity), ('aggregations.timestamp', [spec.timestamp])] -%}
        {%- if spec.anchor -%}
            {%- do needed.append(('aggregations.anchor', [spec.anchor])) -%}
        {%- endif -%}
        {%- for aggregate in spec.aggregates if aggregate.column -%}
            {%- do needed.append(("the column of '" ~ aggregate.name ~ "'", [aggregate.column])) -%}
        {%- endfor -%}
    {%- else -%}
        {%- set needed = [('entity', spec.entity), ('attributes.valid_from', [spec.valid_from]),
            ('attributes.columns', spec.columns)] -%}
    {%- endif -%}
    {#- The SELECT's columns, from a zero-row query; only when what it reads exists (`dbt compile` of an
        unbuilt project skips it; `dbt run` builds the parents first). -#}
    {%- set parents_exist = namespace(value=true) -%}
    {%- for parent_id in model.depends_on.nodes if parent_id in graph.nodes -%}
        {%- set parent = graph.nodes[parent_id] -%}
        {%- if adapter.get_relation(parent.database, parent.schema, parent.alias or parent.name) is none -%}
            {%- set parents_exist.value = false -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set selected = [] -%}
    {%- if parents_exist.value -%}
        {%- set probe = run_query('select * from (\n' ~ events_sql ~ '\n) as fg_probe where 1 = 0') -%}
        {%- do selected.extend((probe.column_names if probe is not none else []) | map('lower')) -%}
    {%- endif -%}
    {#- A stand-in engine that runs nothing returns no columns: nothing to check against. -#}
    {%- if selected -%}
        {%- for where, columns in needed -%}
            {%- for column in columns if column | lower not in selected -%}
                {{ exceptions.raise_compiler_error(
                    "[missing_select_column] " ~ fail_prefix ~ where ~ " names '" ~ column
                    ~ "', which the model's SELECT does not return (it returns: " ~ selected | join(', ') ~ ")"
                ) }}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}

    {%- set generated = spec.entity + [spec.event_time] + (spec.outputs | map(attribute='name') | list) + ['computed_at'] -%}
    {%- set declared = spec.declared.keys() | list -%}
    {%- for column in generated if column not in declared -%}
        {{ exceptions.raise_compiler_error(
            "[undeclared_output] " ~ fail_prefix ~ "the declaration produces the column '" ~ column
            ~ "', which the model's .yml does not list under `columns:` (with data_type and description)"
        ) }}
    {%- endfor -%}
    {%- for column in declared if column not in generated -%}
        {{ exceptions.raise_compiler_error(
            "[unknown_column] " ~ fail_prefix ~ "the .yml lists the column '" ~ column ~ "', which the "
            ~ "declaration does not produce; produced: " ~ generated | join(', ')
        ) }}
    {%- endfor -%}
{% endmacro %}
