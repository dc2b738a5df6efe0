{#- Returns an interval literal of `seconds` in its largest whole unit, e.g. interval '7' day, which Trino
    and DuckDB read alike. -#}
{% macro interval_literal(seconds) -%}
    {%- set seconds = seconds | int -%}
    {%- for unit, size in [('day', 86400), ('hour', 3600), ('minute', 60), ('second', 1)] -%}
        {%- if seconds % size == 0 and (seconds >= size or size == 1) -%}
            {{ return("interval '" ~ (seconds // size) ~ "' " ~ unit) }}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}
