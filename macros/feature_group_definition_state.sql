{#- Returns, for the feature group being run (`model`, `this`), the definition record to store with its
    table after this run succeeds, as a dict {fingerprint, mixed_before, previous_fingerprint}; raises a
    compiler error (before any SQL writes) when the run would extend history computed by another
    definition. Called by feature_group() when the model is compiled; the post-hook
    store_feature_group_definition() writes the record after the run's writes succeed.

    - Full build (first run, --full-refresh): the whole history is the current definition.
    - Stored fingerprint = current: the record stays; a range backfill that reaches down from the
      mixed-history boundary moves it to the backfill's start (gone once it starts at the oldest row).
    - No stored record (a table built before fingerprints existed): adopted with a notice; the current
      definition is recorded.
    - Stored fingerprint differs: refused (by `dbt run`, `build`, `retry`: the commands that write; others
      such as `dbt compile` or `docs generate` only warn), naming the two fixes, unless this is a range backfill with
      `accept_mixed_history: true` reaching past the table's newest row; the history before its start then
      stays as the old definition computed it, and the boundary is recorded. -#}
{% macro feature_group_definition_state() %}
    {%- set current = featurestore.feature_group_fingerprint(model.name) -%}
    {%- set full = {'fingerprint': current, 'mixed_before': none, 'previous_fingerprint': none} -%}
    {%- if not is_incremental() -%}
        {{ return(full) }}
    {%- endif -%}
    {%- set stored = featurestore.stored_feature_group_definition(this) -%}
    {%- set backfill = featurestore.backfill_range() -%}
    {%- set event_time = model.config.meta.feature_group.event_time -%}
    {%- if stored is none or not stored.get('fingerprint') -%}
        {{ log("feature group " ~ model.name ~ ": its table has no definition fingerprint (built before "
                ~ "fingerprints existed); adopting it as the current definition " ~ current[:12] ~ ". If its "
                ~ "history was computed by an older definition, rebuild it: dbt run -s " ~ model.name
                ~ " --full-refresh", info=true) }}
        {{ return(full) }}
    {%- endif -%}
    {%- set epoch = modules.datetime.datetime(1970, 1, 1) -%}
    {%- if stored.fingerprint == current -%}
        {%- set record = {'fingerprint': current, 'mixed_before': stored.get('mixed_before'),
            'previous_fingerprint': stored.get('previous_fingerprint')} -%}
        {%- if backfill is not none and record.mixed_before -%}
            {%- set boundary = modules.datetime.datetime.fromisoformat(record.mixed_before) -%}
            {%- if backfill.start < boundary and backfill.end >= boundary -%}
                {%- do record.update({'mixed_before': backfill.start.isoformat()}) -%}
                {%- set oldest = featurestore.query_single_timestamp(
                    'select min(' ~ event_time ~ ') from ' ~ this) -%}
                {%- if oldest is none or backfill.start <= oldest -%}
                    {{ return(full) }}
                {%- endif -%}
            {%- endif -%}
        {%- endif -%}
        {{ return(record) }}
    {%- endif -%}

    {%- set accepted = var('accept_mixed_history', false) in [true, 'true', 'True', 1, '1'] -%}
    {%- set fixes = "\n  dbt run -s " ~ model.name ~ " --full-refresh   (then `featurestore sync`)\nor, to keep "
        ~ "the history before a date as the old definition computed it (recorded as mixed history):\n"
        ~ "  featurestore backfill " ~ model.name ~ " --start <date> --accept-mixed-history" -%}
    {%- set changed = "[definition_changed] feature group " ~ model.name ~ ": its definition changed since "
        ~ "its table was built (stored fingerprint " ~ stored.fingerprint[:12] ~ ", current " ~ current[:12]
        ~ "): " -%}
    {%- if flags.WHICH not in ['run', 'build', 'retry'] -%}
        {#- dbt compile, docs generate, show: nothing is written, so nothing to refuse; say it. -#}
        {{ log("warning: " ~ changed ~ "a dbt run of it will be refused until it is rebuilt:" ~ fixes, info=true) }}
        {{ return(stored) }}
    {%- endif -%}
    {%- if backfill is none or not accepted -%}
        {{ exceptions.raise_compiler_error(changed ~ (
            "a range backfill would leave the history around it computed by the old definition while the "
            ~ "table claims the new one" if backfill is not none else
            "an incremental run would add rows of the new definition to history computed by the old one")
            ~ ". Nothing was written. Rebuild it:" ~ fixes) }}
    {%- endif -%}
    {%- set newest = featurestore.newest_value(this, event_time, event_time) -%}
    {%- if newest is not none and backfill.end <= newest.replace(tzinfo=none) -%}
        {{ exceptions.raise_compiler_error(changed ~ "a backfill with accept_mixed_history must cover [start, "
            ~ "the table's newest row): its end " ~ backfill.end ~ " is not after the newest row (" ~ newest
            ~ "), and the history kept after it would be the old definition's while the table claims the new "
            ~ "one. Nothing was written. End it after " ~ newest ~ " (featurestore backfill " ~ model.name
            ~ " --start <date> --accept-mixed-history does), or rebuild:" ~ fixes) }}
    {%- endif -%}
    {%- set oldest = featurestore.query_single_timestamp('select min(' ~ event_time ~ ') from ' ~ this) -%}
    {%- if oldest is none or backfill.start <= oldest -%}
        {{ return(full) }}
    {%- endif -%}
    {{ log("feature group " ~ model.name ~ ": recomputing from " ~ backfill.start ~ " with definition "
            ~ current[:12] ~ "; the history before it stays as definition " ~ stored.fingerprint[:12]
            ~ " computed it (recorded as mixed history; `featurestore status` shows it)", info=true) }}
    {{ return({'fingerprint': current, 'mixed_before': backfill.start.isoformat(),
        'previous_fingerprint': stored.fingerprint}) }}
{% endmacro %}
