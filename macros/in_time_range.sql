{#- Returns a SQL condition: `column` lies in [start, end) with literal bounds (either may be none for
    unbounded; `true` when both are). Literal bounds let Athena prune partitions. -#}
{% macro in_time_range(column, start=none, end=none) -%}
    {%- set conditions = [] -%}
    {%- if start is not none -%}
        {%- do conditions.append(column ~ ' >= ' ~ featurestore.timestamp_literal(start)) -%}
    {%- endif -%}
    {%- if end is not none -%}
        {%- do conditions.append(column ~ ' < ' ~ featurestore.timestamp_literal(end)) -%}
    {%- endif -%}
    {{ conditions | join(' and ') if conditions else 'true' }}
{%- endmacro %}
