{#- Post-hook of feature groups. Returns, during a range backfill, a DELETE of the rows inside the backfilled
    range that this run did not rewrite (rows the new logic no longer produces); otherwise nothing.
    Running after the merge means a failure leaves stale rows behind, never a gap: rerun the backfill. -#}
{% macro delete_stale_backfill_rows() %}
    {%- set backfill = featurestore.backfill_range() -%}
    {%- if backfill is none or not execute or not is_incremental() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set contract = config.get('meta', {}).get('feature_group', {}) -%}
    {%- set event_time = contract.get('event_time') -%}
    {%- if not event_time -%}
        {{ exceptions.raise_compiler_error(
            "Model " ~ model.name ~ " has no feature_group.event_time in config.meta; a range backfill needs it."
        ) }}
    {%- endif -%}
    delete from {{ this }}
    where
        {{ featurestore.in_time_range(event_time, backfill.start, backfill.end) }}
        {#- Rows written before computed_at existed have none: they are stale too. #}
        and (computed_at is null or computed_at < {{ featurestore.computed_at() }})
{% endmacro %}
