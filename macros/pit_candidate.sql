{#- Returns the inline contract of a candidate feature group for point_in_time_join(): a feature table that is
    not a model yet (an exploratory CTE, a relation, or a table a notebook registered), given in a
    feature_groups entry as
      candidate: {relation: ..., entity: user_id | [user_id, ...], event_time: effective_at, ttl: 7d,
                  columns: [...]}
    `relation` is a relation (ref/source) or a name; `columns`, optional, are the table's columns, against which
    the requested features are checked. The result is a dict: relation, entity (a list), event_time, ttl and
    columns (a list, or none when not given). Any mistake is a compiler error naming the candidate. -#}
{% macro pit_candidate(group, candidate, context) %}
    {%- set where = context ~ " (candidate group '" ~ group ~ "')" -%}
    {%- if candidate is not mapping -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": candidate must be a mapping of relation, entity, event_time and ttl, got " ~ (candidate | tojson)
        ) }}
    {%- endif -%}
    {%- set allowed = ['relation', 'entity', 'event_time', 'ttl', 'columns'] -%}
    {%- set unknown = candidate.keys() | reject('in', allowed) | list -%}
    {%- set missing = allowed[:4] | reject('in', candidate.keys() | list) | list -%}
    {%- if unknown or missing -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": candidate " ~ ("has unknown key(s) " ~ (unknown | join(', ')) if unknown else "lacks "
            ~ (missing | join(', '))) ~ "; a candidate takes relation, entity, event_time, ttl and optionally columns"
        ) }}
    {%- endif -%}
    {%- set entity = [candidate.entity] if candidate.entity is string else candidate.entity | list -%}
    {%- if not entity or candidate.event_time is not string or candidate.event_time in entity -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": a candidate needs at least one entity column and an event_time column that is not one of "
            ~ "them, got entity " ~ (entity | tojson) ~ " and event_time " ~ (candidate.event_time | tojson)
        ) }}
    {%- endif -%}
    {%- set columns = none if candidate.get('columns') is none else candidate.columns | list -%}
    {%- for column in entity + [candidate.event_time] if columns is not none and column not in columns -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": '" ~ column ~ "' is not a column of " ~ candidate.relation ~ " (columns: "
            ~ (columns | join(', ')) ~ ")"
        ) }}
    {%- endfor -%}
    {{ return({
        'relation': candidate.relation,
        'entity': entity,
        'event_time': candidate.event_time,
        'ttl': candidate.ttl,
        'columns': columns,
    }) }}
{% endmacro %}
