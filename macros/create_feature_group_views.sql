{#- A post-hook of every model (dbt_project.yml); returns '' (it runs its statements itself). After a feature
    group (a model with config.meta.feature_group) is built, (re)creates beside its table two views for
    analysts and BI tools, derived from the contract, so every new group gets them without any SQL:

      <group>__current   each entity's values valid now (feature_group_values_at with the query's time)
      <group>__validity  every row with `valid_until`; "as of t": <event_time> <= t and t < valid_until

    `create or replace view` keeps the old definition readable until the new one replaces it. The views'
    descriptions go to the warehouse: Glue table and column descriptions on Athena, comments on DuckDB.
    Models without a contract are left alone. -#}
{% macro create_feature_group_views() %}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set contract = (model.config.meta or {}).get('feature_group') -%}
    {%- if contract is not mapping -%}
        {{ return('') }}
    {%- endif -%}
    {%- set columns = model.columns.keys() | list -%}
    {%- set described = {} -%}
    {%- for name, column in model.columns.items() if name != 'computed_at' -%}
        {%- do described.update({name: column.description or ''}) -%}
    {%- endfor -%}
    {%- set views = [
        {
            'suffix': '__current',
            'sql': featurestore.feature_group_values_at(this, contract, columns, featurestore.utc_now()),
            'description': 'Current values of feature group ' ~ model.name ~ ': each entity\'s newest row with '
                ~ contract.event_time ~ ' <= now, left out once older than the TTL (' ~ contract.ttl ~ '). '
                ~ 'Generated from the contract; see docs/bi.md. ' ~ (model.description or ''),
            'extra': {},
        },
        {
            'suffix': '__validity',
            'sql': featurestore.feature_group_validity(this, contract, columns),
            'description': 'Every row of feature group ' ~ model.name ~ ' with the end of its validity; values '
                ~ 'as of time t: where ' ~ contract.event_time ~ ' <= t and t < valid_until. Generated from the '
                ~ 'contract; see docs/bi.md. ' ~ (model.description or ''),
            'extra': {'valid_until': 'End (exclusive) of the time this row\'s values hold: the entity\'s next '
                ~ 'row or the expiry of this one (' ~ contract.event_time ~ ' + TTL ' ~ contract.ttl
                ~ '), whichever comes first.'},
        },
    ] -%}
    {%- for view in views -%}
        {%- set relation = api.Relation.create(
            database=this.database, schema=this.schema, identifier=this.identifier ~ view.suffix, type='view'
        ) -%}
        {%- do run_query('create or replace view ' ~ relation ~ ' as\n' ~ view.sql) -%}
        {%- set view_columns = {} -%}
        {%- for name, description in described.items() -%}
            {%- do view_columns.update({name: {'name': name, 'description': description}}) -%}
        {%- endfor -%}
        {%- for name, description in view.extra.items() -%}
            {%- do view_columns.update({name: {'name': name, 'description': description}}) -%}
        {%- endfor -%}
        {%- do adapter.dispatch('describe_feature_group_view', 'featurestore')(
            relation, view.description | trim, view_columns
        ) -%}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}

{% macro default__describe_feature_group_view(relation, description, columns) %}
    {%- do run_query('comment on view ' ~ relation ~ ' is \'' ~ description.replace("'", "''") ~ '\'') -%}
{% endmacro %}

{% macro athena__describe_feature_group_view(relation, description, columns) %}
    {#- Athena's CREATE VIEW takes no comment: the descriptions go to the view's Glue table, as dbt-athena's
        persist_docs does for models (adapter.persist_docs_to_glue reads these keys of the model dict). -#}
    {%- do adapter.persist_docs_to_glue(
        relation=relation,
        model={
            'unique_id': model.unique_id ~ '.' ~ relation.identifier,
            'description': description,
            'columns': columns,
            'config': {'materialized': 'view', 'meta': {'feature_group_view_of': model.name}},
        },
        persist_relation_docs=true,
        persist_column_docs=true,
        skip_archive_table_version=true,
    ) -%}
{% endmacro %}
