{#-
    The click-through training set: every labelled impression with the user's engagement, the article's
    popularity and the user's affinity to the article's category, each as it was when the impression was
    shown (point-in-time join: no value computed from later events).
-#}
with

final as (

    {{ featurestore.point_in_time_join(
        spine=ref('impression_click_labels'),
        spine_time='shown_at',
        feature_groups=[
            {
                'group': 'user_engagement',
                'prefix': 'user_',
                'features': [
                    'impressions_1h', 'clicks_1h', 'ctr_1h', 'impressions_24h', 'clicks_24h', 'ctr_24h',
                    'impressions_7d', 'clicks_7d', 'ctr_7d', 'avg_dwell_seconds_7d', 'last_active_at',
                ],
            },
            {
                'group': 'article_popularity',
                'prefix': 'article_',
                'features': [
                    'impressions_1h', 'clicks_1h', 'ctr_1h', 'ctr_24h', 'clicks_per_minute_15m',
                    'click_acceleration_15m', 'published_at',
                ],
            },
            {
                'group': 'user_category_affinity',
                'prefix': 'user_category_',
                'features': ['clicks_30d', 'click_share_30d'],
            },
        ],
    ) }}

)

-- The columns are the spine's and the features the macro adds.
select * from final  -- noqa: AM04
