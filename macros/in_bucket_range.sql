{#- Returns a SQL condition: bucket number `column` (buckets of `grain_seconds`) starts in [start, end), with
    integer literals; `true` when both bounds are none. Bounds must lie on bucket boundaries. -#}
{% macro in_bucket_range(column, start=none, end=none, grain_seconds=300) -%}
    {%- set conditions = [] -%}
    {%- if start is not none -%}
        {%- do conditions.append(column ~ ' >= ' ~ featurestore.bucket_number_of(start, grain_seconds)) -%}
    {%- endif -%}
    {%- if end is not none -%}
        {%- do conditions.append(column ~ ' < ' ~ featurestore.bucket_number_of(end, grain_seconds)) -%}
    {%- endif -%}
    {{ conditions | join(' and ') if conditions else 'true' }}
{%- endmacro %}
