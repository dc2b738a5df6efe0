{#- Returns a SELECT of the events an incremental staging model stages this run, from `base_relation` (a
    base_* view: typed raw rows with `dt` and `rejection_reason`) and the `batch` of staging_batch(): the rows
    without a rejection reason in the batch's raw partitions (all on a full build), one per `id_column`
    (its first delivery: earliest ingested_at, then dt), without the ids already staged since the batch's
    earliest event time (incremental runs). Each event is thus staged once, at its first delivery. -#}
{% macro staged_new_events(base_relation, id_column, event_time_column, batch) %}
    select deliveries.*
    from (
        select
            *,
            row_number() over (partition by {{ id_column }} order by ingested_at, dt) as delivery_number
        from {{ base_relation }}
        where
            rejection_reason is null
            {#- A literal, so that Athena reads only the batch's raw partitions. #}
            and {{ "dt >= '" ~ batch.dt_from ~ "'" if batch.dt_from is not none else 'true' }}
    ) as deliveries
    {%- if is_incremental() %}
    left join (
        select {{ id_column }} from {{ this }}
        where {{ featurestore.in_time_range(event_time_column, batch.event_time_from) }}
    ) as already_staged
        on deliveries.{{ id_column }} = already_staged.{{ id_column }}
    {%- endif %}
    where
        deliveries.delivery_number = 1
        {%- if is_incremental() %}
        and already_staged.{{ id_column }} is null
        {%- endif %}
{% endmacro %}
