{#- Returns the SQL value of the window column of `aggregate` over `window` (entries of feature_group_spec())
    for an entity with no event in any window: what the group's rows hold once every event has left the
    windows. 0 for count, count_distinct and sum; null for the other functions and for a coarser (`per`)
    aggregate (null on rows of an entity without events, see windowed_feature_rows()). A lifetime value
    does not depend on the windows: it is `carried`, the SQL of the value to keep. -#}
{% macro windowed_empty_value(aggregate, window, carried) -%}
    {%- if window.seconds == 'lifetime' -%}
        {{ carried }}
    {%- elif aggregate.per is defined -%}
        null
    {%- elif aggregate.function in ['count', 'count_distinct', 'sum'] -%}
        0
    {%- else -%}
        null
    {%- endif -%}
{%- endmacro %}
