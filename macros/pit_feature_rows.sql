{#- Returns a SQL condition on a feature group's rows for point_in_time_join(): keys not null and, when the
    spine's time bounds are known, event time (in UTC, see utc_timestamp) in (start - TTL, end], the only rows a
    label can use. -#}
{% macro pit_feature_rows(spec, bounds, qualifier=none) -%}
    {%- set prefix = qualifier ~ '.' if qualifier else '' -%}
    {%- set conditions = [] -%}
    {%- for column in spec.entity -%}
        {%- do conditions.append(prefix ~ column ~ ' is not null') -%}
    {%- endfor -%}
    {%- if bounds is not none -%}
        {#- pit_time_bounds() has made both bounds zone-less UTC datetimes. -#}
        {%- set event_at = featurestore.utc_timestamp(prefix ~ spec.event_time) -%}
        {#- `ttl: none`: any older row may be the one matched. -#}
        {%- if spec.ttl_seconds is not none -%}
            {%- set oldest = bounds.start - modules.datetime.timedelta(seconds=spec.ttl_seconds) -%}
            {%- do conditions.append(event_at ~ ' > ' ~ featurestore.timestamp_literal(oldest)) -%}
        {%- endif -%}
        {%- do conditions.append(event_at ~ ' <= ' ~ featurestore.timestamp_literal(bounds.end)) -%}
    {%- endif -%}
    {{ conditions | join(' and ') }}
{%- endmacro %}
