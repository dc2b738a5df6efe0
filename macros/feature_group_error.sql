{#- Raises the compiler error of a mistake in a feature group's declaration: `[kind] feature group <model>:
    <message>`, the kind a stable name that tests and users can search for (docs/feature_groups.md). -#}
{% macro feature_group_error(model_name, kind, message) %}
    {{ exceptions.raise_compiler_error(
        "[" ~ kind ~ "] feature group " ~ model_name ~ ": " ~ message ~ " (see docs/feature_groups.md#reference)"
    ) }}
{% endmacro %}
