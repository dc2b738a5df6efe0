{#- Fails with one row per raw table whose row count differs from what the rejection audit accounts for,
    or whose kept rows differ from what its staging model holds. -#}

with

raw_counts as (

    select
        'articles' as source_table,
        count(*) as raw_rows
    from {{ source('news', 'articles') }}
    union all
    select
        'users' as source_table,
        count(*) as raw_rows
    from {{ source('news', 'users') }}
    union all
    select
        'impressions' as source_table,
        count(*) as raw_rows
    from {{ source('news', 'impressions') }}
    union all
    select
        'reactions' as source_table,
        count(*) as raw_rows
    from {{ source('news', 'reactions') }}

),

audited as (

    select
        source_table,
        sum(raw_rows) as audited_rows,
        sum(case when outcome = 'kept' then raw_rows else 0 end) as kept_rows
    from {{ ref('audit_staging_rejections') }}
    group by source_table

),

staged as (

    select
        'articles' as source_table,
        count(*) as staged_rows
    from {{ ref('stg_news__articles') }}
    union all
    select
        'users' as source_table,
        count(*) as staged_rows
    from {{ ref('stg_news__users') }}
    union all
    select
        'impressions' as source_table,
        count(*) as staged_rows
    from {{ ref('stg_news__impressions') }}
    union all
    select
        'reactions' as source_table,
        count(*) as staged_rows
    from {{ ref('stg_news__reactions') }}

),

final as (

    select
        raw_counts.source_table,
        raw_counts.raw_rows,
        audited.audited_rows,
        audited.kept_rows,
        staged.staged_rows
    from raw_counts
    left join audited on raw_counts.source_table = audited.source_table
    left join staged on raw_counts.source_table = staged.source_table
    where
        audited.audited_rows is null
        or raw_counts.raw_rows != audited.audited_rows
        or audited.kept_rows != staged.staged_rows

)

select * from final
