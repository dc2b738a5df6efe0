{#- Returns a condition true when the timestamp `expr` lies outside the plausible event times of the
    service (vars min_event_at and max_event_at), false otherwise; null `expr` gives null (checked apart). -#}
{% macro out_of_time_range(expr) -%}
    ({{ expr }} < timestamp '{{ var("min_event_at") }}' or {{ expr }} >= timestamp '{{ var("max_event_at") }}')
{%- endmacro %}
