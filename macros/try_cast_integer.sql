{#- Returns a raw column cast to an integer type (`bigint` or `integer`), or null where it is not a plain
    decimal integer in that type's range. Both engines' try_cast give null where a cast fails (Trino:
    https://trino.io/docs/current/functions/conversion.html#try_cast), but they disagree on some strings
    ('1.5' and '1e3' cast to 2 and 1000 on DuckDB and fail on Trino), so only text that is an optional sign
    and digits reaches the cast, where they agree. A raw double (a changed column type) renders as '1.5' or
    '1.5E0' and is refused on both. The branches differ only in the name of the regex-match function
    (Trino's regexp_like, DuckDB's regexp_matches: both match anywhere unless anchored). -#}
{% macro try_cast_integer(expr, type='bigint') -%}
    {{ return(adapter.dispatch('try_cast_integer', 'featurestore')(expr, type)) }}
{%- endmacro %}

{% macro default__try_cast_integer(expr, type) -%}
    case when regexp_like(cast({{ expr }} as varchar), '^[+-]?[0-9]{1,19}$') then try_cast({{ expr }} as {{ type }}) end
{%- endmacro %}

{% macro duckdb__try_cast_integer(expr, type) -%}
    case when regexp_matches(cast({{ expr }} as varchar), '^[+-]?[0-9]{1,19}$') then try_cast({{ expr }} as {{ type }}) end
{%- endmacro %}
