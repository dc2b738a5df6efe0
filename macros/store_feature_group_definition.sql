{#- Post-hook of feature groups (dbt_project.yml). Returns the statement that stores the group's definition
    record (decided by feature_group_definition_state() when feature_group() compiled the model, kept in
    config.meta.featurestore_definition) with its table after a successful build: on DuckDB a
    `comment on table` of the model's description followed by the line `featurestore_definition: <json>`
    (dbt-duckdb's persist_docs writes the bare description just before, in the same transaction); on
    Athena nothing, the record going to the Glue table parameter `featurestore_definition` through
    dbt-athena's persist_docs_to_glue (Athena refuses custom Iceberg table properties in ALTER TABLE SET
    TBLPROPERTIES; Glue table parameters are the table's metadata in the Glue Data Catalog). '' for a model
    that is not a feature group, and for a hand-written group (no feature_group() call, no record). -#}
{% macro store_feature_group_definition() %}
    {%- if not execute or ((model.config.meta or {}).get('feature_group')) is not mapping -%}
        {{ return('') }}
    {%- endif -%}
    {#- Decided when the model was compiled (feature_group()), before this run's writes: on DuckDB the
        stored record is no longer readable here (persist_docs has just replaced the comment). -#}
    {%- set record_json = (config.get('meta') or {}).get('featurestore_definition') -%}
    {%- if not record_json -%}
        {#- A hand-written group (its SQL not wrapped in featurestore.feature_group()) decides no record: it
            has no fingerprint, and `featurestore status` says its definition is not recorded. -#}
        {{ return('') }}
    {%- endif -%}
    {{ return(adapter.dispatch('store_feature_group_definition', 'featurestore')(this, record_json)) }}
{% endmacro %}

{% macro default__store_feature_group_definition(relation, record_json) %}
    {{ exceptions.raise_compiler_error(
        "feature group " ~ relation ~ ": no way to store definition fingerprints on the " ~ adapter.type()
        ~ " adapter (supported: duckdb, athena)"
    ) }}
{% endmacro %}

{% macro duckdb__store_feature_group_definition(relation, record_json) %}
    {%- set comment = ((model.description or '') ~ '\n\nfeaturestore_definition: ' ~ record_json).strip() -%}
    {{ return("comment on table " ~ relation ~ " is '" ~ comment.replace("'", "''") ~ "'") }}
{% endmacro %}

{% macro athena__store_feature_group_definition(relation, record_json) %}
    {%- set meta = {} -%}
    {%- do meta.update(model.config.meta or {}) -%}
    {%- do meta.update({'featurestore_definition': record_json}) -%}
    {#- The model's own description and meta, as dbt-athena's persist_docs (run after the post-hooks) writes
        them: that call then finds the table up to date and creates no second Glue table version. -#}
    {%- do adapter.persist_docs_to_glue(relation, {
        'description': model.description or '',
        'unique_id': model.unique_id,
        'columns': {},
        'config': {'materialized': model.config.materialized, 'meta': meta},
    }, true, false) -%}
    {{ return('') }}
{% endmacro %}
