{#- Fails with one row per training row that uses a feature row from its future or older than the TTL: for
    each feature group in `feature_groups` (names, or mappings {group, alias, ttl} as given to
    point_in_time_join), the row's `<alias>_<event_time>` column must be <= `label_time` (< when
    `inclusive` is false) and newer than `label_time` minus the group's TTL (from its contract), compared in UTC
    as the join does (utc_timestamp). -#}
{% test no_future_features(model, label_time, feature_groups, inclusive=true) %}

{%- set checks = [] -%}
{%- if execute -%}
    {%- for entry in feature_groups -%}
        {%- set spec = {'group': entry} if entry is string else entry -%}
        {%- set contract = featurestore.feature_group_node(spec.group, 'no_future_features on ' ~ model)
            .config.meta.feature_group -%}
        {%- set ttl = featurestore.ttl_seconds(spec.get('ttl') or contract.ttl, 'no_future_features on ' ~ model) -%}
        {%- do checks.append({
            'column': (spec.get('alias') or spec.group) ~ '_' ~ contract.event_time,
            'ttl': featurestore.interval_literal(ttl),
        }) -%}
    {%- endfor -%}
{%- endif %}

with

final as (

    select
        {{ label_time }} as label_at
        {%- for check in checks %},
        {{ check.column }}
        {%- endfor %}
    from {{ model }}
    where false
        {%- set label_at = featurestore.utc_timestamp(label_time) -%}
        {%- for check in checks %}
        or {{ check.column }} {{ '>' if inclusive else '>=' }} {{ label_at }}
        or {{ check.column }} <= {{ label_at }} - {{ check.ttl }}
        {%- endfor %}

)

select * from final

{% endtest %}
