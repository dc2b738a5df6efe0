{#- Returns the definition record stored with a feature group's table `relation` by
    store_feature_group_definition() after its last successful build, as a dict
    {fingerprint, mixed_before, previous_fingerprint} (mixed_before: ISO time before which the history was
    computed by an older definition, previous_fingerprint: that definition; both none when the whole history
    is the current one), or none when the table has no record (built before fingerprints existed).

    DuckDB keeps it in the table's comment, after the model's description (dbt-duckdb's persist_docs writes
    the description first, the post-hook appends the record); Athena in a Glue table parameter, because
    Athena refuses custom Iceberg table properties (ALTER TABLE SET TBLPROPERTIES, Athena User Guide). -#}
{% macro stored_feature_group_definition(relation) %}
    {{ return(adapter.dispatch('stored_feature_group_definition', 'featurestore')(relation)) }}
{% endmacro %}

{% macro default__stored_feature_group_definition(relation) %}
    {{ exceptions.raise_compiler_error(
        "feature group " ~ relation ~ ": no way to store definition fingerprints on the " ~ adapter.type()
        ~ " adapter (supported: duckdb, athena)"
    ) }}
{% endmacro %}

{% macro duckdb__stored_feature_group_definition(relation) %}
    {%- set result = run_query(
        "select comment from duckdb_tables() where database_name = '" ~ relation.database
        ~ "' and schema_name = '" ~ relation.schema ~ "' and table_name = '" ~ relation.identifier ~ "'"
    ) -%}
    {%- set comment = result.columns[0].values()[0] if result is not none and result.rows | length > 0 else none -%}
    {{ return(featurestore.parse_feature_group_definition(comment)) }}
{% endmacro %}

{% macro athena__stored_feature_group_definition(relation) %}
    {%- set table = adapter.get_glue_table(relation) -%}
    {%- set parameters = ((table or {}).get('Table') or {}).get('Parameters') or {} -%}
    {%- set text = parameters.get('featurestore_definition') -%}
    {{ return(fromjson(text) if text else none) }}
{% endmacro %}
