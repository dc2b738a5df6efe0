{% call featurestore.feature_group() %}
select article_id, published_at, category, publisher, length_words, is_premium from {{ ref('stg_news__articles') }}
{% endcall %}
