{#- Returns the newest value of the timestamp `column` in `relation` as a Python datetime (none when the
    table is empty), read with run_query before the model's query, for watermarks.

    A plain `select max(...)` reads the column of every file of the table: on Athena that is a scan of the
    whole history on every micro-batch. Athena's branch therefore first reads only the partitions of the
    last `recent_days` days before this run's start (a literal bound on the day-partitioned
    `partition_column`, so Iceberg prunes the rest), and falls back to the whole table only when those
    hold no row (first run after a pause, or a replay of old data). A maximum over part of the table is
    never above the true one, so a caller that recomputes from it can only do more work, never less.
    DuckDB reads the column of a local file: its branch keeps the single query. -#}
{% macro newest_value(relation, column, partition_column, recent_days=3) %}
    {{ return(adapter.dispatch('newest_value', 'featurestore')(relation, column, partition_column, recent_days)) }}
{% endmacro %}

{% macro default__newest_value(relation, column, partition_column, recent_days=3) %}
    {%- set now = run_started_at.replace(tzinfo=none) -%}
    {%- set since = modules.datetime.datetime(now.year, now.month, now.day)
        - modules.datetime.timedelta(days=recent_days) -%}
    {%- set value = featurestore.query_single_timestamp(
        'select max(' ~ column ~ ') from ' ~ relation
        ~ ' where ' ~ featurestore.in_time_range(partition_column, since)
    ) -%}
    {%- if value is none -%}
        {%- set value = featurestore.query_single_timestamp('select max(' ~ column ~ ') from ' ~ relation) -%}
    {%- endif -%}
    {{ return(value) }}
{% endmacro %}

{% macro duckdb__newest_value(relation, column, partition_column, recent_days=3) %}
    {{ return(featurestore.query_single_timestamp('select max(' ~ column ~ ') from ' ~ relation)) }}
{% endmacro %}
