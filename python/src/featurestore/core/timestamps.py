"""Time helpers: every time the store keeps is a naive datetime meaning UTC, at microsecond precision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)


def naive_utc(value: datetime) -> datetime:
    """`value` as naive UTC: an aware time is converted, a naive one is taken to be UTC already."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def to_micros(value: datetime) -> int:
    """Microseconds since the epoch of a naive UTC time."""
    return (value - EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    return EPOCH + value * _MICROSECOND


def sql_timestamp(value: datetime) -> str:
    """A SQL timestamp literal of `value` (naive UTC), the same text on DuckDB and Athena (Trino)."""
    return f"timestamp '{naive_utc(value).isoformat(sep=' ', timespec='microseconds')}'"


def is_timestamp_type(sql_type: str) -> bool:
    """Whether an SQL/Glue type name is a timestamp: `timestamp`, `timestamp(6)`, ... (YAML data_types and Glue
    types are lowercase; either case is accepted)."""
    return sql_type.strip().lower().startswith("timestamp")
