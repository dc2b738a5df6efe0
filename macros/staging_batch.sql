{#- Returns what an incremental staging model reads this run, as a dict, computed before its query:
      dt_from:         the earliest raw ingestion-date partition (`dt`, 'yyyy-mm-dd') to read, or none for all;
      event_time_from: the earliest event time of the rows kept in those partitions, or none.

    - First run or --full-refresh: all partitions, both none.
    - Incremental run: from the day before the newest `ingested_at` already staged (a day of margin for
      events whose ingestion time and partition disagree around midnight). The partitions re-read hold
      events already staged: the model drops those ids, so each event is staged once, at its first delivery.

    `base_relation` is the base_* view the model reads (typed raw rows with `dt` and `rejection_reason`).
    dt_from is rendered as a string literal, so Athena reads only those raw partitions. event_time_from is
    taken by a small query over just those partitions; the model bounds its look-up of already staged ids
    by it and this macro appends the same literal bound on the target to `incremental_predicates`, so
    neither the look-up nor the MERGE scans the whole staging table. The model must declare
    `incremental_predicates=[]`. -#}
{% macro staging_batch(base_relation, event_time_column) %}
    {%- set batch = {'dt_from': none, 'event_time_from': none} -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(batch) }}
    {%- endif -%}
    {%- set predicates = config.get('incremental_predicates') -%}
    {%- if predicates is none -%}
        {{ exceptions.raise_compiler_error(
            "Model " ~ model.name ~ " calls staging_batch() but does not declare "
            ~ "incremental_predicates=[] in its config; add it so the merge can be bounded."
        ) }}
    {%- endif -%}
    {#- The same node may be rendered again in one process (programmatic runs): start clean. -#}
    {%- do predicates.clear() -%}

    {%- set loaded_until = featurestore.newest_value(this, 'ingested_at', event_time_column) -%}
    {%- if loaded_until is none -%}
        {{ return(batch) }}
    {%- endif -%}
    {%- set dt_from = (loaded_until - modules.datetime.timedelta(days=1)).strftime('%Y-%m-%d') -%}
    {%- set event_time_from = featurestore.query_single_timestamp(
        'select min(' ~ event_time_column ~ ') from ' ~ base_relation
        ~ " where rejection_reason is null and dt >= '" ~ dt_from ~ "'"
    ) -%}
    {%- if event_time_from is none -%}
        {#- Nothing new: any literal bounds an empty merge; the partition's day is as good as any. -#}
        {%- set event_time_from = modules.datetime.datetime.strptime(dt_from, '%Y-%m-%d') -%}
    {%- endif -%}
    {%- do batch.update({'dt_from': dt_from, 'event_time_from': event_time_from}) -%}
    {%- do predicates.append(
        featurestore.merge_target_alias() ~ '.' ~ event_time_column
        ~ ' >= ' ~ featurestore.timestamp_literal(event_time_from)
    ) -%}
    {{ return(batch) }}
{% endmacro %}
