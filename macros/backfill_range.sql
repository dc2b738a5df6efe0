{#- Returns the range backfill requested with `--vars '{backfill_start: ..., backfill_end: ...}'` as a dict
    {start, end} of naive UTC datetimes, or none when no backfill is requested. Dates mean midnight UTC.
    Raises a compiler error naming the variable when only one is set, a value is not an ISO date/time,
    or start is not before end. -#}
{% macro backfill_range() %}
    {%- set raw_start = var('backfill_start', none) -%}
    {%- set raw_end = var('backfill_end', none) -%}
    {%- if raw_start is none and raw_end is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if raw_start is none or raw_end is none -%}
        {{ exceptions.raise_compiler_error(
            "A range backfill needs both backfill_start and backfill_end (got backfill_start="
            ~ raw_start ~ ", backfill_end=" ~ raw_end ~ ")."
        ) }}
    {%- endif -%}
    {%- set parsed = {} -%}
    {%- for name, raw in [('backfill_start', raw_start), ('backfill_end', raw_end)] -%}
        {%- set text = raw | string | trim -%}
        {%- if text | length == 10 -%}
            {%- set text = text ~ 'T00:00:00' -%}
        {%- endif -%}
        {%- set value = none -%}
        {%- if modules.re.match('^\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?$', text) -%}
            {%- set value = modules.datetime.datetime.fromisoformat(text.replace(' ', 'T')) -%}
        {%- endif -%}
        {%- if value is none -%}
            {{ exceptions.raise_compiler_error(
                name ~ "=" ~ raw ~ " is not an ISO date or time in UTC, e.g. 2026-10-01 or 2026-10-01T06:00"
            ) }}
        {%- endif -%}
        {%- do parsed.update({name: value}) -%}
    {%- endfor -%}
    {%- if parsed.backfill_start >= parsed.backfill_end -%}
        {{ exceptions.raise_compiler_error(
            "backfill_start (" ~ raw_start ~ ") must be before backfill_end (" ~ raw_end ~ ")."
        ) }}
    {%- endif -%}
    {{ return({'start': parsed.backfill_start, 'end': parsed.backfill_end}) }}
{% endmacro %}
