{#- Returns the length of a duration written like `90s`, `15m`, `1h`, `7d` or `2w` in seconds (an integer),
    the string 'lifetime' for `lifetime`, or none when `text` is neither. -#}
{% macro duration_seconds(text) %}
    {%- set text = text | string | trim | lower -%}
    {%- if text == 'lifetime' -%}
        {{ return('lifetime') }}
    {%- endif -%}
    {%- set match = modules.re.match('^([1-9][0-9]*)([smhdw])$', text) -%}
    {%- if not match -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set unit = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}[match.group(2)] -%}
    {{ return(match.group(1) | int * unit) }}
{% endmacro %}
