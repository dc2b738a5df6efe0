{#- Fails with one row per raw table whose row count differs from what the rejection audit accounts for. -#}
{%- set sources = ['articles', 'users', 'impressions', 'reactions'] -%}

with

raw_counts as (

    {% for source_name in sources %}
    select '{{ source_name }}' as source_table, count(*) as raw_rows
    from {{ source('news', source_name) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

audited as (

    select
        source_table,
        sum(row_count) as audited_rows,
        sum(case when outcome = 'kept' then row_count else 0 end) as kept_rows
    from {{ ref('audit_staging_rejections') }}
    group by source_table

),

staged as (

    select 'articles' as source_table, count(*) as staged_rows from {{ ref('stg_news__articles') }}
    union all
    select 'users', count(*) from {{ ref('stg_news__users') }}
    union all
    select 'impressions', count(*) from {{ ref('stg_news__impressions') }}
    union all
    select 'reactions', count(*) from {{ ref('stg_news__reactions') }}

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
    where audited.audited_rows is null
        or raw_counts.raw_rows != audited.audited_rows
        or audited.kept_rows != staged.staged_rows

)

select * from final
