{#- Post-hook of feature groups. Returns, during a range backfill, a DELETE of the rows inside the backfilled
    range (as extended by backfill_extent(); its end itself excluded: the rows there resume the kept
    history) that this run did not rewrite (rows the new logic no longer produces); otherwise nothing.
    Running after the merge means a failure leaves stale rows behind, never a gap: rerun the backfill. -#}
{% macro delete_stale_backfill_rows() %}
    {%- if featurestore.backfill_range() is none or not execute or not is_incremental() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set spec = featurestore.feature_group_spec(model) -%}
    {%- set backfill = featurestore.backfill_extent(spec) -%}
    {%- set event_time = spec.event_time -%}
    delete from {{ this }}
    where
        {{ featurestore.in_time_range(event_time, backfill.start, backfill.end) }}
        {#- Rows written before computed_at existed have none: they are stale too. #}
        and (computed_at is null or computed_at < {{ featurestore.computed_at() }})
{% endmacro %}
