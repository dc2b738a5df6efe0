{#- Returns a SQL timestamp literal for a Python datetime or an ISO string, e.g. timestamp '2026-10-01 00:00:00'.
    Literals (not subqueries) let Athena prune Iceberg partitions. -#}
{% macro timestamp_literal(value) -%}
    {%- if value is string -%}
        {%- set text = value -%}
    {%- else -%}
        {%- set text = value.strftime('%Y-%m-%d %H:%M:%S.%f' if value.microsecond else '%Y-%m-%d %H:%M:%S') -%}
    {%- endif -%}
    timestamp '{{ text }}'
{%- endmacro %}
