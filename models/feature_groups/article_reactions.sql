{% call featurestore.feature_group() %}
select article_id, user_id, reacted_at, reaction_kind, dwell_seconds from {{ ref('stg_news__reactions') }}
{% endcall %}
