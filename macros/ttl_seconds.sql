{#- Returns a feature-group TTL such as `90s`, `30m`, `36h`, `7d` or `2w` as a whole number of seconds, none
    for `none` (values that never expire); a compiler error naming `context` (the model or call that
    declared it) for anything else. The Python side parses the same format (featurestore.contract). -#}
{% macro ttl_seconds(text, context) %}
    {%- if text is string and text.strip() | lower == 'none' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set units = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800} -%}
    {%- set match = modules.re.match('^([1-9][0-9]*)([smhdw])$', (text | string).strip()) -%}
    {%- if text is none or match is none -%}
        {{ exceptions.raise_compiler_error(
            context ~ ": ttl " ~ (text | tojson) ~ " is not a duration; write a positive whole number and a unit "
            ~ "(s, m, h, d or w), e.g. ttl: 7d, or none for values that never expire"
        ) }}
    {%- endif -%}
    {{ return((match.group(1) | int) * units[match.group(2)]) }}
{% endmacro %}
