{#- Returns, as an integer literal, the number of the bucket of width `grain_seconds` that starts at the
    Python datetime `value` (which must lie on a bucket boundary, as incremental_window() bounds do). -#}
{% macro bucket_number_of(value, grain_seconds) -%}
    {%- set seconds = (value.replace(tzinfo=none) - modules.datetime.datetime(1970, 1, 1)).total_seconds() | int -%}
    {%- if seconds % grain_seconds != 0 -%}
        {{ exceptions.raise_compiler_error(
            "bucket_number_of(): " ~ value ~ " is not on a " ~ grain_seconds ~ "-second bucket boundary"
        ) }}
    {%- endif -%}
    {{ seconds // grain_seconds }}
{%- endmacro %}
