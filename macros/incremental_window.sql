{#- Returns the time bounds of this run of an incremental feature group, as a dict:
      recompute_from: rows whose event time is >= this are recomputed and merged (none on a full build);
      read_from:      the earliest raw event time the recomputation needs (recompute_from - history_seconds).
    On an incremental run the bounds start `lookback_hours` before the newest event already in the table
    (so late arrivals are picked up), floored to the group's grain.

    It also sets the model's merge to touch only target rows inside the recomputed range, with a literal
    bound computed here, before the query: dbt renders `incremental_predicates` at parse time, when the
    table cannot be read, and Athena only prunes Iceberg partitions on literals (a `select max(...)`
    subquery makes the MERGE scan the whole table). The model must declare `incremental_predicates=[]`. -#}
{% macro incremental_window(watermark_column, event_time_column, lookback_hours, grain_seconds, history_seconds) %}
    {%- set bounds = {'recompute_from': none, 'read_from': none} -%}
    {%- if not execute -%}
        {{ return(bounds) }}
    {%- endif -%}

    {%- if is_incremental() -%}
        {%- set predicates = config.get('incremental_predicates') -%}
        {%- if predicates is none -%}
            {{ exceptions.raise_compiler_error(
                "Model " ~ model.name ~ " calls incremental_window() but does not declare "
                ~ "incremental_predicates=[] in its config; add it so the merge can be bounded."
            ) }}
        {%- endif -%}
        {#- The same node may be rendered again in one process (programmatic runs): start clean. -#}
        {%- do predicates.clear() -%}
        {%- set result = run_query('select max(' ~ watermark_column ~ ') from ' ~ this) -%}
        {%- set watermark = result.columns[0].values()[0] if result is not none and result.rows | length > 0 else none -%}
        {%- if watermark is string -%}
            {%- set watermark = modules.datetime.datetime.fromisoformat(watermark) -%}
        {%- endif -%}
        {%- if watermark is not none -%}
            {%- set epoch = modules.datetime.datetime(1970, 1, 1) -%}
            {%- set start_seconds = (watermark.replace(tzinfo=none) - epoch).total_seconds() - lookback_hours * 3600 -%}
            {%- set floored = (start_seconds // grain_seconds) * grain_seconds -%}
            {%- set recompute_from = epoch + modules.datetime.timedelta(seconds=floored) -%}
            {%- do bounds.update({
                'recompute_from': recompute_from,
                'read_from': recompute_from - modules.datetime.timedelta(seconds=history_seconds),
            }) -%}
            {%- do predicates.append(
                featurestore.merge_target_alias() ~ '.' ~ event_time_column
                ~ ' >= ' ~ featurestore.timestamp_literal(recompute_from)
            ) -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(bounds) }}
{% endmacro %}
