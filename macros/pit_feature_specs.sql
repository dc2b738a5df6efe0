{#- Returns the joins that a point_in_time_join() call asks for, resolved against each feature group's
    contract (config.meta.feature_group) in the graph, as a list of dicts:
      name (the group), relation, entity (entity columns), keys (the spine column for each entity column, in
      the same order), event_time, ttl_seconds, features (list of {column, output}), time_output (the output
      column holding the event time of the row used).
    `feature_groups` is a list of mappings:
      group     the feature group's model name (required)
      features  feature names (a list), or a mapping of feature name to output name (required)
      keys      spine column per entity column, where they are named differently, e.g. {user_id: viewer_id}
      prefix    prepended to every output feature name of this group
      alias     names the event-time column `<alias>_<event_time>` (default: the group's name)
      ttl       overrides the group's TTL for this call (e.g. 1d)
      candidate a feature table that is not a model yet, with its contract inline (see pit_candidate): then
                `group` only names it, and it is joined exactly as a model group would be
    Any mistake is a compiler error that names the group, feature or key at fault. Before execution (while
    dbt parses) it only records the refs, and returns entries without contract details. -#}
{% macro pit_feature_specs(feature_groups) %}
    {%- set context = 'point_in_time_join() in ' ~ model.name -%}
    {%- if feature_groups is string or feature_groups is mapping or not feature_groups -%}
        {{ exceptions.raise_compiler_error(
            context ~ ": feature_groups must be a non-empty list of mappings such as "
            ~ "{'group': 'user_engagement', 'features': ['clicks_7d']}, got " ~ (feature_groups | tojson)
        ) }}
    {%- endif -%}
    {%- set allowed = ['group', 'features', 'keys', 'prefix', 'alias', 'ttl', 'candidate'] -%}
    {%- set specs = [] -%}
    {%- set outputs = {} -%}
    {%- for entry in feature_groups -%}
        {%- if entry is not mapping or 'group' not in entry or 'features' not in entry -%}
            {{ exceptions.raise_compiler_error(
                context ~ ": each feature_groups entry needs `group` and `features`, got " ~ (entry | tojson)
            ) }}
        {%- endif -%}
        {%- set unknown = entry.keys() | reject('in', allowed) | list -%}
        {%- if unknown -%}
            {{ exceptions.raise_compiler_error(
                context ~ ": unknown key(s) " ~ (unknown | join(', ')) ~ " in the entry of group '" ~ entry.group
                ~ "'; allowed: " ~ (allowed | join(', '))
            ) }}
        {%- endif -%}
        {%- if entry.get('candidate') is none -%}
            {%- set candidate = none -%}
            {%- set relation = ref(entry.group) -%}
        {%- elif not execute -%}
            {#- Checked at execution only: dbt reports errors raised while it parses without their message. -#}
            {%- set relation = entry.candidate.get('relation') if entry.candidate is mapping else none -%}
        {%- else -%}
            {%- set candidate = featurestore.pit_candidate(entry.group, entry.candidate, context) -%}
            {%- set relation = candidate.relation -%}
        {%- endif -%}
        {%- if not execute -%}
            {%- do specs.append({'name': entry.group, 'relation': relation}) -%}
        {%- else -%}
            {%- if candidate is none -%}
                {%- set node = featurestore.feature_group_node(entry.group, context) -%}
                {%- set contract = node.config.meta.feature_group -%}
                {%- set columns = node.columns.keys() | list -%}
            {%- else -%}
                {%- set contract = candidate -%}
                {%- set columns = candidate.columns -%}
            {%- endif -%}
            {%- set entity = [contract.entity] if contract.entity is string else contract.entity -%}
            {%- set reserved = entity + [contract.event_time, 'computed_at'] -%}
            {#- A candidate without `columns` cannot be checked here: a wrong feature fails when the query runs. -#}
            {%- set available = none if columns is none else columns | reject('in', reserved) | list -%}

            {%- set keys = entry.get('keys') or {} -%}
            {%- set wrong_keys = keys.keys() | reject('in', entity) | list -%}
            {%- if wrong_keys -%}
                {{ exceptions.raise_compiler_error(
                    context ~ ": keys maps " ~ (wrong_keys | join(', ')) ~ ", which is not an entity column of '"
                    ~ entry.group ~ "' (entity: " ~ (entity | join(', ')) ~ ")"
                ) }}
            {%- endif -%}

            {%- set requested = entry.features -%}
            {%- if requested is string or not requested -%}
                {{ exceptions.raise_compiler_error(
                    context ~ ": features of '" ~ entry.group ~ "' must be a non-empty list or mapping, got "
                    ~ (requested | tojson)
                ) }}
            {%- endif -%}
            {%- set features = [] -%}
            {%- for column in requested -%}
                {%- if available is not none and column not in available -%}
                    {{ exceptions.raise_compiler_error(
                        context ~ ": '" ~ column ~ "' is not a feature of '" ~ entry.group ~ "'; its features: "
                        ~ (available | join(', '))
                    ) }}
                {%- endif -%}
                {%- set name = requested[column] if requested is mapping else column -%}
                {%- do features.append({'column': column, 'output': (entry.get('prefix') or '') ~ name}) -%}
            {%- endfor -%}

            {%- set spec = {
                'name': entry.group,
                'relation': relation,
                'entity': entity,
                'keys': [],
                'event_time': contract.event_time,
                'ttl_seconds': featurestore.ttl_seconds(
                    entry.get('ttl') or contract.ttl, context ~ " (group '" ~ entry.group ~ "')"
                ),
                'features': features,
                'time_output': (entry.get('alias') or entry.group) ~ '_' ~ contract.event_time,
            } -%}
            {%- for column in entity -%}
                {%- do spec['keys'].append(keys.get(column) or column) -%}
            {%- endfor -%}
            {%- for output in features | map(attribute='output') | list + [spec.time_output] -%}
                {%- if output in outputs -%}
                    {{ exceptions.raise_compiler_error(
                        context ~ ": output column '" ~ output ~ "' comes from both '" ~ outputs[output] ~ "' and '"
                        ~ entry.group ~ "'; rename one (features: {name: new_name}), or set a prefix or alias"
                    ) }}
                {%- endif -%}
                {%- do outputs.update({output: entry.group}) -%}
            {%- endfor -%}
            {%- do specs.append(spec) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(specs) }}
{% endmacro %}
