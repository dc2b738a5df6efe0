{#- Returns a feature-group TTL such as `90s`, `30m`, `36h`, `7d` or `2w` as a whole number of seconds; a
    compiler error naming `context` (the model or call that declared it) for anything else. The Python
    side parses the same format (featurestore.contract.parse_ttl). -#}
{% macro ttl_seconds(text, context) %}
    {%- set units = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800} -%}
    {%- set match = modules.re.match('^([1-9][0-9]*)([smhdw])$', (text | string).strip()) -%}
    {%- if text is none or match is none -%}
        {{ exceptions.raise_compiler_error(
            context ~ ": ttl " ~ (text | tojson) ~ " is not a duration; write a positive whole number and a unit "
            ~ "(s, m, h, d or w), e.g. ttl: 7d"
        ) }}
    {%- endif -%}
    {{ return((match.group(1) | int) * units[match.group(2)]) }}
{% endmacro %}
