{#- Returns the definition record (a dict, see stored_feature_group_definition()) held in a DuckDB table
    comment `comment`: the JSON after the line prefix `featurestore_definition: `; none when there is none.
    featurestore/offline/duckdb/reader.py reads the same format. -#}
{% macro parse_feature_group_definition(comment) %}
    {%- set found = modules.re.search('(?m)^featurestore_definition: (\\{.*\\})$', comment or '') -%}
    {{ return(fromjson(found.group(1)) if found else none) }}
{% endmacro %}
