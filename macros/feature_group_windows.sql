{#- Returns the windows `texts` of one entry of a feature group's declaration as a list of
    {name, seconds} (seconds is 'lifetime' for lifetime), or raises a named declaration error: not a list,
    not a duration, or not a multiple of the group's grain. -#}
{% macro feature_group_windows(model_name, where, texts, grain, grain_text) %}
    {%- set parsed = [] -%}
    {%- if texts is string or texts is none or texts is mapping or texts | length == 0 -%}
        {{ featurestore.feature_group_error(model_name, 'bad_declaration', where ~ ": windows must be a non-empty "
            ~ "list such as [1h, 24h, 7d] (or set aggregations.windows for every feature)") }}
    {%- endif -%}
    {%- for text in texts -%}
        {%- set seconds = featurestore.duration_seconds(text | string) -%}
        {%- if seconds is none -%}
            {{ featurestore.feature_group_error(model_name, 'bad_duration', where ~ ": window '" ~ text
                ~ "' is not a duration such as 15m, 1h, 7d or lifetime") }}
        {%- endif -%}
        {%- if seconds != 'lifetime' and seconds % grain != 0 -%}
            {{ featurestore.feature_group_error(model_name, 'window_not_multiple_of_grain', where ~ ": window '"
                ~ text ~ "' is not a multiple of the grain '" ~ grain_text ~ "'; use a multiple or a finer grain") }}
        {%- endif -%}
        {%- do parsed.append({'name': text | string, 'seconds': seconds}) -%}
    {%- endfor -%}
    {{ return(parsed) }}
{% endmacro %}
