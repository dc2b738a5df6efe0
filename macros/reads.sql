{#- Returns a SQL condition for the SELECT of a declarative group that looks events up in their history:
    `column` lies in the run's read range widened back by `lookback` (a duration such as 7d; none for
    no widening), with literal bounds (`true` on a full build). `bounds` is what `{% call(bounds) featurestore.feature_group() %}`
    receives. Example: a click counts only if it is its impression's first click, so a micro-batch reads
    impressions and clicks from up to 7 days before its oldest counted click. -#}
{% macro reads(bounds, column, lookback=none) %}
    {%- set seconds = 0 if lookback is none else featurestore.duration_seconds(lookback) -%}
    {%- if seconds is none or seconds == 'lifetime' -%}
        {{ exceptions.raise_compiler_error(
            "featurestore.reads(): lookback '" ~ lookback ~ "' is not a duration such as 7d (column " ~ column ~ ")"
        ) }}
    {%- endif -%}
    {%- set start = bounds.read_from - modules.datetime.timedelta(seconds=seconds)
        if bounds.read_from is not none else none -%}
    {{ return(featurestore.in_time_range(column, start, bounds.recompute_until)) }}
{% endmacro %}
