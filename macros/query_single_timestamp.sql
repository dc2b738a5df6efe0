{#- Returns the single value of a one-row, one-column query as a naive Python datetime (UTC), or none when
    it is null or the query returns no row. Athena's driver may hand timestamps back as ISO strings. -#}
{% macro query_single_timestamp(sql) %}
    {%- set result = run_query(sql) -%}
    {%- set value = result.columns[0].values()[0] if result is not none and result.rows | length > 0 else none -%}
    {%- if value is string -%}
        {%- set value = modules.datetime.datetime.fromisoformat(value) -%}
    {%- endif -%}
    {{ return(value.replace(tzinfo=none) if value is not none else none) }}
{% endmacro %}
