{#- Returns where a range backfill of the group `spec` (feature_group_spec()) really ends, as a dict
    {start, end, requested_end, reason}, or none when no backfill is requested (backfill_range()):

    - attribute groups: the requested range [backfill_start, backfill_end);
    - windowed groups: the requested end plus the longest window and a grain, because an event's effect
      on the windows lasts that long: a changed (late, removed, re-filtered) event inside the range
      changes rows up to a window after it, and all of them are recomputed;
    - windowed groups with a lifetime feature: to the table's end (`end` none), because a lifetime value
      carries an event's effect for ever.

    `--vars '{backfill_extend: false}'` keeps the requested end (what `featurestore backfill` passes for
    every chunk but the last, so the extension is added once, after the plan's end). `reason` is the
    sentence printed when the range is extended (none otherwise). -#}
{% macro backfill_extent(spec) %}
    {%- set requested = featurestore.backfill_range() -%}
    {%- if requested is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set extent = {'start': requested.start, 'end': requested.end, 'requested_end': requested.end, 'reason': none} -%}
    {%- if spec.kind != 'windowed' or not var('backfill_extend', true) -%}
        {{ return(extent) }}
    {%- endif -%}
    {%- set lifetime = [] -%}
    {%- for aggregate in spec.aggregates -%}
        {%- for window in aggregate.windows if window.seconds == 'lifetime' -%}
            {%- do lifetime.append(window.column) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if lifetime -%}
        {%- do extent.update({'end': none, 'reason': "extending the range to the table's end because lifetime "
            ~ "features (" ~ lifetime | join(', ') ~ ") carry an event's effect for ever"}) -%}
    {%- else -%}
        {%- set longest = namespace(seconds=0, name='') -%}
        {%- for name, seconds in spec.windows.items() if seconds > longest.seconds -%}
            {%- set longest.seconds, longest.name = seconds, name -%}
        {%- endfor -%}
        {%- set end = requested.end + modules.datetime.timedelta(seconds=longest.seconds + spec.grain) -%}
        {%- do extent.update({'end': end, 'reason': "extending the range to " ~ end.strftime('%Y-%m-%d %H:%M:%S')
            ~ " because windows up to " ~ longest.name ~ " carry an event's effect for that long"}) -%}
    {%- endif -%}
    {{ return(extent) }}
{% endmacro %}
