{#- Returns the definition fingerprint of the feature group `group` (a model name): the hex MD5 (local_md5)
    of a canonical JSON text of what decides the group's values, so that an incremental run can tell whether
    the stored history was computed by the definition it is about to extend:

      - the declaration's value-deciding keys (config.meta.feature_group: entity, event_time,
        aggregations, attributes) and each column's name and data_type; not descriptions, owner, tags,
        freshness, `online` or `ttl`, which change no stored value (the TTL is applied when values are
        read; the online store's group state carries it);
      - the model's own SQL and that of every model it reads, recursively up to the sources, as written
        (raw_code with Jinja comments removed and whitespace collapsed), not compiled: the same project gives
        the same fingerprint in dev and prod schemas; the seeds it reads by their file checksum.

    The SQL of macros is not part of it (dbt's graph holds no macros): a changed macro that a model calls
    changes no fingerprint. Only at execution time (the graph is empty while dbt parses). Python obtains the
    fingerprint by compiling a call of this macro (offline/definitions.py), so this is the one home of the
    algorithm. -#}
{% macro feature_group_fingerprint(group) %}
    {%- set node = featurestore.feature_group_node(group, 'feature_group_fingerprint') -%}
    {%- set contract = node.config.meta.feature_group -%}
    {%- set declaration = {} -%}
    {%- for key in ['entity', 'event_time', 'aggregations', 'attributes'] if key in contract -%}
        {%- do declaration.update({key: contract[key]}) -%}
    {%- endfor -%}
    {%- set columns = {} -%}
    {%- for name, column in node.columns.items() -%}
        {%- do columns.update({name: column.data_type}) -%}
    {%- endfor -%}
    {%- set code = {} -%}
    {%- set frontier = [node.unique_id] -%}
    {#- Breadth first over depends_on.nodes; 1000 levels is far beyond any real lineage. -#}
    {%- for level in range(1000) if frontier -%}
        {%- set next_level = [] -%}
        {%- for unique_id in frontier if unique_id not in code and unique_id in graph.nodes -%}
            {%- set upstream = graph.nodes[unique_id] -%}
            {%- if upstream.resource_type == 'seed' -%}
                {%- do code.update({unique_id: 'seed ' ~ ((upstream.checksum or {}).checksum or '')}) -%}
            {%- else -%}
                {%- set text = modules.re.sub('(?s)\\{#.*?#\\}', ' ', upstream.raw_code or '') -%}
                {%- do code.update({unique_id: modules.re.sub('\\s+', ' ', text).strip()}) -%}
                {%- do next_level.extend((upstream.depends_on or {}).nodes or []) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do frontier.clear() -%}
        {%- do frontier.extend(next_level) -%}
    {%- endfor -%}
    {%- set definition = {'declaration': declaration, 'columns': columns, 'code': code} -%}
    {{ return(local_md5(tojson(definition, sort_keys=true))) }}
{% endmacro %}
