{#- Returns the time bounds of this run of an incremental feature group, as a dict of Python datetimes
    (each none when unbounded):
      recompute_from / recompute_until: rows whose event time lies in [from, until) are recomputed;
      read_from: the earliest event time the recomputation counts (recompute_from - history_seconds);
      lookup_from: read_from - history_seconds, how far back to look up what those events refer to
        (e.g. the impression of a click, and whether it was clicked before).

    - Full build (first run or --full-refresh): everything, all bounds none.
    - Incremental run: from `lookback_hours` before the newest event already in the table (so late arrivals
      are picked up), floored to the group's grain; no upper bound. The newest event is the newest
      `watermark_column` minus `watermark_offset_seconds` (declarative groups read their newest row, which
      lies at most the longest window after the newest event). The newest event is read with
      newest_value(), which on Athena reads only recent partitions of the table.
    - Range backfill (`--vars '{backfill_start: ..., backfill_end: ...}'`, ISO dates or times, UTC, on the
      group's grain): [backfill_start, end) where `end` is `extent.end` (backfill_extent(): the requested
      end, extended by the group's longest window and a grain, or none up to the table's end), and
      `boundary_end` = that end, where the backfill writes the rows that resume the kept history. The
      merge's target bound includes `boundary_end` itself (`<=`). The post-hook
      delete_stale_backfill_rows() then deletes the range's rows that this run no longer produced.
      `is_backfill` is true.

    On incremental runs and backfills it also bounds the merge to the recomputed range with literal
    target-side predicates computed here, before the query: dbt renders `incremental_predicates` when it
    parses the project, when the table cannot be read, and Athena only prunes Iceberg partitions on
    literals (a `select max(...)` subquery makes the MERGE scan the whole table). The model must declare
    `incremental_predicates=[]`. -#}
{% macro incremental_window(watermark_column, event_time_column, lookback_hours, grain_seconds, history_seconds, watermark_offset_seconds=0, extent=none) %}
    {%- set bounds = {'recompute_from': none, 'recompute_until': none, 'read_from': none, 'lookup_from': none,
        'is_backfill': false, 'boundary_end': none} -%}
    {%- set backfill = extent if extent is not none else featurestore.backfill_range() -%}
    {%- if not execute -%}
        {{ return(bounds) }}
    {%- endif -%}
    {%- if backfill is not none and not is_incremental() -%}
        {{ exceptions.raise_compiler_error(
            "Model " ~ model.name ~ ": a range backfill (backfill_start/backfill_end) needs an existing table "
            ~ "and cannot be combined with --full-refresh; build it first with `dbt run -s " ~ model.name
            ~ "`, or drop the backfill vars to rebuild everything with --full-refresh."
        ) }}
    {%- endif -%}
    {%- if not is_incremental() -%}
        {{ return(bounds) }}
    {%- endif -%}

    {%- set predicates = config.get('incremental_predicates') -%}
    {%- if predicates is none -%}
        {{ exceptions.raise_compiler_error(
            "Model " ~ model.name ~ " calls incremental_window() but does not declare "
            ~ "incremental_predicates=[] in its config; add it so the merge can be bounded."
        ) }}
    {%- endif -%}
    {#- The same node may be rendered again in one process (programmatic runs): start clean. -#}
    {%- do predicates.clear() -%}

    {%- set epoch = modules.datetime.datetime(1970, 1, 1) -%}
    {%- if backfill is not none -%}
        {%- for name, value in [('backfill_start', backfill.start), ('backfill_end', backfill.get('requested_end', backfill.end))] -%}
            {%- if (value - epoch).total_seconds() % grain_seconds != 0 -%}
                {{ exceptions.raise_compiler_error(
                    "Model " ~ model.name ~ ": " ~ name ~ "=" ~ value ~ " does not lie on the group's "
                    ~ grain_seconds ~ "-second grain; use a whole date or a time on the grain."
                ) }}
            {%- endif -%}
        {%- endfor -%}
        {%- do bounds.update({'recompute_from': backfill.start, 'recompute_until': backfill.end,
            'is_backfill': true, 'boundary_end': backfill.end}) -%}
        {%- if backfill.get('reason') -%}
            {{ log(model.name ~ ": " ~ backfill.reason, info=True) }}
        {%- endif -%}
    {%- else -%}
        {#- Bounded to recent partitions on Athena (see newest_value()); never above the true maximum. -#}
        {%- set watermark = featurestore.newest_value(this, watermark_column, event_time_column) -%}
        {%- if watermark is none -%}
            {{ return(bounds) }}
        {%- endif -%}
        {%- set start_seconds = (watermark.replace(tzinfo=none) - epoch).total_seconds() - lookback_hours * 3600 - watermark_offset_seconds -%}
        {%- do bounds.update({
            'recompute_from': epoch + modules.datetime.timedelta(seconds=(start_seconds // grain_seconds) * grain_seconds),
        }) -%}
    {%- endif -%}
    {%- set history = modules.datetime.timedelta(seconds=history_seconds) -%}
    {%- do bounds.update({
        'read_from': bounds.recompute_from - history,
        'lookup_from': bounds.recompute_from - history - history,
    }) -%}

    {%- set target_column = featurestore.merge_target_alias() ~ '.' ~ event_time_column -%}
    {%- do predicates.append(target_column ~ ' >= ' ~ featurestore.timestamp_literal(bounds.recompute_from)) -%}
    {%- if bounds.boundary_end is not none -%}
        {#- A backfill also writes rows at its end, where the kept history resumes. -#}
        {%- do predicates.append(target_column ~ ' <= ' ~ featurestore.timestamp_literal(bounds.boundary_end)) -%}
    {%- elif bounds.recompute_until is not none -%}
        {%- do predicates.append(target_column ~ ' < ' ~ featurestore.timestamp_literal(bounds.recompute_until)) -%}
    {%- endif -%}
    {{ return(bounds) }}
{% endmacro %}
