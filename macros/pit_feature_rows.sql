{#- Returns a SQL condition on a feature group's rows for point_in_time_join(): keys not null and, when the
    spine's time bounds are known, event time in (start - TTL, end], the only rows a label can use. -#}
{% macro pit_feature_rows(spec, bounds, qualifier=none) -%}
    {%- set prefix = qualifier ~ '.' if qualifier else '' -%}
    {%- set conditions = [] -%}
    {%- for column in spec.entity -%}
        {%- do conditions.append(prefix ~ column ~ ' is not null') -%}
    {%- endfor -%}
    {%- if bounds is not none -%}
        {#- pit_time_bounds() has made both bounds datetimes. -#}
        {%- set oldest = bounds.start.replace(tzinfo=none) - modules.datetime.timedelta(seconds=spec.ttl_seconds) -%}
        {%- do conditions.append(prefix ~ spec.event_time ~ ' > ' ~ featurestore.timestamp_literal(oldest)) -%}
        {%- do conditions.append(prefix ~ spec.event_time ~ ' <= ' ~ featurestore.timestamp_literal(bounds.end)) -%}
    {%- endif -%}
    {{ conditions | join(' and ') }}
{%- endmacro %}
