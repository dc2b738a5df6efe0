{#- Returns the declaration of a declarative feature group (config.meta.feature_group of `node`), checked
    and normalised into a dict, or raises a compiler error whose message starts with the error's name in
    brackets (e.g. `[unknown_function]`) and names the model and the offending entry. Pure Jinja: runs
    before any SQL. The columns of the analyst's SELECT are checked separately (feature_group_columns_check()).

    Windowed groups (`aggregations:`) return kind 'windowed' with: entity, event_time, timestamp, anchor
    (none when absent), grain (seconds), windows (name -> seconds, every window any feature uses, lifetime
    excluded), aggregates (list of {name, function, column, windows, output}), derived (list of
    {name, sql, windows}), outputs (ordered list of {name, source} of the generated value columns).
    Attribute groups (`attributes:`) return kind 'attributes' with: entity, event_time, valid_from,
    columns. Output naming rule: an aggregate or a per-window derived feature `x` over window `w` is the
    column `x_w`; over `lifetime` (or a derived feature without `windows`) it is just `x`. -#}
{% macro feature_group_spec(node) %}
    {%- set model_name = node.name -%}
    {%- set contract = (node.config.meta or {}).get('feature_group') -%}
    {%- if contract is not mapping -%}
        {{ featurestore.feature_group_error(model_name, 'missing_contract', "no config.meta.feature_group mapping in the model's .yml") }}
    {%- endif -%}
    {%- set entity = contract.get('entity') -%}
    {%- set entity = [entity] if entity is string else entity -%}
    {%- if entity is none or entity is string or entity | length == 0 -%}
        {{ featurestore.feature_group_error(model_name, 'missing_entity', "feature_group.entity must list the entity key column(s)") }}
    {%- endif -%}
    {%- set event_time = contract.get('event_time') -%}
    {%- if event_time is not string -%}
        {{ featurestore.feature_group_error(model_name, 'missing_event_time', "feature_group.event_time must name the output timestamp column") }}
    {%- endif -%}
    {%- set has_aggregations = contract.get('aggregations') is not none -%}
    {%- set has_attributes = contract.get('attributes') is not none -%}
    {%- if has_aggregations == has_attributes -%}
        {{ featurestore.feature_group_error(model_name, 'missing_declaration', "declare exactly one of feature_group.aggregations (windowed "
            ~ "aggregations of events) or feature_group.attributes (values that change slowly)") }}
    {%- endif -%}
    {%- set identifier = '^[a-z_][a-z0-9_]*$' -%}

    {%- if has_attributes -%}
        {%- set decl = contract.get('attributes') -%}
        {%- if decl is not mapping -%}
            {{ featurestore.feature_group_error(model_name, 'bad_declaration', "feature_group.attributes must be a mapping with valid_from and columns") }}
        {%- endif -%}
        {%- set unknown = decl.keys() | reject('in', ['valid_from', 'columns']) | list -%}
        {%- if unknown -%}
            {{ featurestore.feature_group_error(model_name, 'unknown_key', "feature_group.attributes." ~ unknown[0] ~ " is not a known key (valid_from, columns)") }}
        {%- endif -%}
        {%- set columns = decl.get('columns') -%}
        {%- if decl.get('valid_from') is not string or columns is string or not columns -%}
            {{ featurestore.feature_group_error(model_name, 'bad_declaration', "feature_group.attributes needs valid_from (the SELECT's timestamp "
                ~ "column) and columns (the attribute columns of the SELECT)") }}
        {%- endif -%}
        {%- if decl.valid_from != event_time -%}
            {{ featurestore.feature_group_error(model_name, 'bad_declaration', "feature_group.attributes.valid_from (" ~ decl.valid_from
                ~ ") must equal feature_group.event_time (" ~ event_time ~ "): the rows hold from that time") }}
        {%- endif -%}
        {%- set seen = [] -%}
        {%- for column in entity + [event_time] + columns -%}
            {%- if column in seen -%}
                {{ featurestore.feature_group_error(model_name, 'duplicate_output', "column '" ~ column ~ "' appears twice in entity, valid_from and columns") }}
            {%- endif -%}
            {%- do seen.append(column) -%}
        {%- endfor -%}
        {%- set outputs = [] -%}
        {%- for column in columns -%}
            {%- do outputs.append({'name': column, 'source': 'attribute'}) -%}
        {%- endfor -%}
        {{ return({
            'kind': 'attributes', 'name': model_name, 'declared': node.columns or {},
            'entity': entity, 'event_time': event_time,
            'valid_from': decl.valid_from, 'columns': columns, 'outputs': outputs,
        }) }}
    {%- endif -%}

    {%- set decl = contract.get('aggregations') -%}
    {%- if decl is not mapping -%}
        {{ featurestore.feature_group_error(model_name, 'bad_declaration', "feature_group.aggregations must be a mapping (timestamp, grain, windows, features, derived)") }}
    {%- endif -%}
    {%- set known_keys = ['timestamp', 'anchor', 'grain', 'windows', 'features', 'derived'] -%}
    {%- set unknown = decl.keys() | reject('in', known_keys) | list -%}
    {%- if unknown -%}
        {{ featurestore.feature_group_error(model_name, 'unknown_key', "feature_group.aggregations." ~ unknown[0] ~ " is not a known key ("
            ~ known_keys | join(', ') ~ ")") }}
    {%- endif -%}
    {%- if decl.get('timestamp') is not string -%}
        {{ featurestore.feature_group_error(model_name, 'bad_declaration', "feature_group.aggregations.timestamp must name the SELECT's event timestamp column") }}
    {%- endif -%}
    {%- set grain_text = decl.get('grain', '5m') | string -%}
    {%- set grain = featurestore.duration_seconds(grain_text) -%}
    {%- if grain is none or grain == 'lifetime' -%}
        {{ featurestore.feature_group_error(model_name, 'bad_duration', "grain '" ~ grain_text ~ "' is not a duration such as 5m, 1h or 1d") }}
    {%- endif -%}
    {%- if 86400 % grain != 0 -%}
        {{ featurestore.feature_group_error(model_name, 'bad_grain', "grain '" ~ grain_text ~ "' must divide a day (e.g. 1m, 5m, 15m, 1h, 1d) so "
            ~ "that whole-day backfills lie on it") }}
    {%- endif -%}
    {%- set default_windows = decl.get('windows', []) -%}
    {%- set tile_functions = ['min', 'max', 'last', 'count_distinct'] -%}
    {%- set functions = ['count', 'sum', 'avg', 'stddev', 'variance'] + tile_functions -%}
    {%- set all_windows = {} -%}


    {%- set anchor = decl.get('anchor') -%}
    {%- set coarse_keys = [] -%}
    {%- set aggregates = [] -%}
    {%- set outputs = [] -%}
    {%- set features = decl.get('features') -%}
    {%- if features is none or features is string or features is mapping or features | length == 0 -%}
        {{ featurestore.feature_group_error(model_name, 'bad_declaration', "feature_group.aggregations.features must list at least one "
            ~ "{name, function, column} entry") }}
    {%- endif -%}
    {%- for feature in features -%}
        {%- set where = "aggregations.features[" ~ loop.index0 ~ "]" -%}
        {%- if feature is not mapping -%}
            {{ featurestore.feature_group_error(model_name, 'bad_declaration', where ~ " must be a mapping {name, function, column, windows}") }}
        {%- endif -%}
        {%- set unknown = feature.keys() | reject('in', ['name', 'function', 'column', 'windows', 'output', 'per']) | list -%}
        {%- if unknown -%}
            {{ featurestore.feature_group_error(model_name, 'unknown_key', where ~ ": '" ~ unknown[0] ~ "' is not a known key (name, function, column, "
                ~ "windows, output, per)") }}
        {%- endif -%}
        {%- set function = feature.get('function') | string | lower -%}
        {%- if function not in functions -%}
            {{ featurestore.feature_group_error(model_name, 'unknown_function', where ~ ": unknown function '" ~ feature.get('function') ~ "'; known: "
                ~ functions | join(', ')
                ~ (" (count_distinct is exact)" if 'distinct' in function else "")) }}
        {%- endif -%}
        {%- set column = feature.get('column') -%}
        {%- if column is none and function != 'count' -%}
            {{ featurestore.feature_group_error(model_name, 'missing_column', where ~ ": function '" ~ function ~ "' needs a column of the SELECT") }}
        {%- endif -%}
        {%- set name = feature.get('name') or ((column ~ '_' if column else '') ~ function) -%}
        {%- if not modules.re.match(identifier, name | string) -%}
            {{ featurestore.feature_group_error(model_name, 'bad_name', where ~ ": name '" ~ name ~ "' must be a lowercase SQL identifier") }}
        {%- endif -%}
        {%- set where = where ~ " (" ~ name ~ ")" -%}
        {%- set windows = featurestore.feature_group_windows(model_name, where, feature.get('windows', default_windows), grain, grain_text) -%}
        {%- for window in windows -%}
            {%- if window.seconds == 'lifetime' and function not in ['max', 'last'] -%}
                {{ featurestore.feature_group_error(model_name, 'unsupported_lifetime', where ~ ": '" ~ function ~ "' over lifetime is not supported "
                    ~ "(only max and last, which an incremental run can recompute from its window); use a "
                    ~ "window such as 90d") }}
            {%- endif -%}
            {%- if window.seconds == 'lifetime' and function == 'max' and column != decl.get('timestamp') -%}
                {#- An incremental run reads only recent events: their max is the lifetime max only for a column
                    that grows with event time, the event's own timestamp. -#}
                {{ featurestore.feature_group_error(model_name, 'unsupported_lifetime', where ~ ": 'max' over lifetime is "
                    ~ "supported only for the events' timestamp column '" ~ decl.get('timestamp') ~ "' (the time of the newest "
                    ~ "event); the max of '" ~ column ~ "' over all history would need the stored state: use a window "
                    ~ "such as 90d") }}
            {%- endif -%}
            {%- if window.seconds != 'lifetime' -%}
                {%- do all_windows.update({window.name: window.seconds}) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if anchor and function in tile_functions and windows | rejectattr('seconds', 'equalto', 'lifetime') | list -%}
            {{ featurestore.feature_group_error(model_name, 'unsupported_anchor', where ~ ": '" ~ function ~ "' over a window cannot follow the anchor "
                ~ "'" ~ anchor ~ "'; anchors apply to count, sum, avg, stddev and variance") }}
        {%- endif -%}
        {%- set aggregate = {'name': name, 'function': function, 'column': column, 'windows': windows,
            'output': feature.get('output', true)} -%}
        {%- if feature.get('per') is not none -%}
            {%- set per = [feature.per] if feature.per is string else feature.per -%}
            {%- if per | reject('in', entity) | list or per | length >= entity | length -%}
                {{ featurestore.feature_group_error(model_name, 'bad_per', where ~ ": per " ~ per ~ " must be a coarser key: some, not all, of the "
                    ~ "entity columns " ~ entity) }}
            {%- endif -%}
            {%- if coarse_keys and coarse_keys[0] != per -%}
                {{ featurestore.feature_group_error(model_name, 'bad_per', where ~ ": every `per` aggregate of a group must use the same key; "
                    ~ "found " ~ coarse_keys[0] ~ " and " ~ per) }}
            {%- endif -%}
            {%- do coarse_keys.append(per) -%}
            {%- do aggregate.update({'per': per}) -%}
        {%- endif -%}
        {%- do aggregates.append(aggregate) -%}
        {%- for window in windows -%}
            {%- set column_name = name if window.seconds == 'lifetime' else name ~ '_' ~ window.name -%}
            {%- do window.update({'column': column_name}) -%}
            {%- if aggregate.output -%}
                {%- do featurestore.feature_group_add_output(model_name, where, column_name, 'aggregate', outputs, entity + [event_time, 'computed_at']) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}

    {#- Derived features: SQL over aggregates. Identifiers followed by `(` are functions; quoted text and
        SQL keywords are skipped; every other identifier must be an aggregate (per window) or a column. -#}
    {%- set keywords = ['case', 'when', 'then', 'else', 'end', 'and', 'or', 'not', 'null', 'is', 'in',
        'between', 'like', 'true', 'false', 'as', 'cast', 'double', 'bigint', 'integer', 'int', 'real',
        'varchar', 'decimal', 'boolean', 'timestamp', 'date', 'interval', 'day', 'hour', 'minute', 'second',
        'distinct', 'from'] -%}
    {%- set derived = [] -%}
    {%- set derived_entries = decl.get('derived', []) or [] -%}
    {%- for entry in derived_entries -%}
        {%- set where = "aggregations.derived[" ~ loop.index0 ~ "]" -%}
        {%- if entry is not mapping or entry.get('name') is not string or entry.get('sql') is not string -%}
            {{ featurestore.feature_group_error(model_name, 'bad_declaration', where ~ " must be a mapping {name, sql, windows (optional)}") }}
        {%- endif -%}
        {%- set unknown = entry.keys() | reject('in', ['name', 'sql', 'windows']) | list -%}
        {%- if unknown -%}
            {{ featurestore.feature_group_error(model_name, 'unknown_key', where ~ ": '" ~ unknown[0] ~ "' is not a known key (name, sql, windows)") }}
        {%- endif -%}
        {%- set where = where ~ " (" ~ entry.name ~ ")" -%}
        {%- set unquoted = modules.re.sub("'[^']*'", "''", entry.sql) -%}
        {%- set names = [] -%}
        {%- for match in modules.re.finditer('([A-Za-z_][A-Za-z0-9_]*)(\\s*\\()?', unquoted) -%}
            {%- if not match.group(2) and match.group(1) | lower not in keywords -%}
                {%- do names.append(match.group(1)) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if entry.get('windows') is not none -%}
            {%- set windows = featurestore.feature_group_windows(model_name, where, entry.windows, grain, grain_text) -%}
            {%- for window in windows -%}
                {%- for name in names -%}
                    {%- set matching = [] -%}
                    {%- for aggregate in aggregates if aggregate.name == name -%}
                        {%- for candidate in aggregate.windows if candidate.name == window.name -%}
                            {%- do matching.append(candidate) -%}
                        {%- endfor -%}
                    {%- endfor -%}
                    {%- if not matching -%}
                        {{ featurestore.feature_group_error(model_name, 'unknown_aggregate', where ~ ": '" ~ name ~ "' is not an aggregate over window '"
                            ~ window.name ~ "'; aggregates: " ~ aggregates | map(attribute='name') | join(', ')) }}
                    {%- endif -%}
                {%- endfor -%}
                {%- set column_name = entry.name if window.seconds == 'lifetime' else entry.name ~ '_' ~ window.name -%}
                {%- do derived.append({'name': column_name, 'sql': entry.sql, 'window': window.name, 'names': names}) -%}
                {%- do featurestore.feature_group_add_output(model_name, where, column_name, 'derived', outputs, entity + [event_time, 'computed_at']) -%}
            {%- endfor -%}
        {%- else -%}
            {%- set columns = [] -%}
            {%- for aggregate in aggregates -%}
                {%- for window in aggregate.windows -%}
                    {%- do columns.append(window.column) -%}
                {%- endfor -%}
            {%- endfor -%}
            {%- for name in names if name not in columns -%}
                {{ featurestore.feature_group_error(model_name, 'unknown_aggregate', where ~ ": '" ~ name ~ "' is not an aggregate column; columns: "
                    ~ columns | join(', ') ~ " (or give the derived feature `windows:`)") }}
            {%- endfor -%}
            {%- do derived.append({'name': entry.name, 'sql': entry.sql, 'window': none, 'names': names}) -%}
            {%- do featurestore.feature_group_add_output(model_name, where, entry.name, 'derived', outputs, entity + [event_time, 'computed_at']) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not all_windows -%}
        {{ featurestore.feature_group_error(model_name, 'bad_declaration', "at least one aggregate needs a window other than lifetime: rows are "
            ~ "emitted where windowed values change") }}
    {%- endif -%}
    {{ return({
        'kind': 'windowed', 'name': model_name, 'declared': node.columns or {}, 'entity': entity, 'event_time': event_time, 'timestamp': decl.timestamp,
        'anchor': anchor, 'grain': grain, 'windows': all_windows, 'aggregates': aggregates,
        'derived': derived, 'outputs': outputs,
    }) }}
{% endmacro %}
