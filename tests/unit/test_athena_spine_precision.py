"""The spine uploaded to Athena is truncated to milliseconds: Athena would round it, possibly into the future."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from featurestore.offline.athena.training_sets import spine_at_milliseconds


def test_spine_timestamps_are_truncated_never_rounded_up() -> None:
    almost_noon = dt.datetime(2026, 10, 4, 11, 59, 59, 999600)  # Athena's reading rounds it to 12:00:00.000
    spine = pa.table(
        {
            "user_id": pa.array([1, 2], pa.int64()),
            "shown_at": pa.array([almost_noon, dt.datetime(2026, 10, 4, 12, 0, 0, 1500)], pa.timestamp("us")),
            "other_at": pa.array([None, almost_noon], pa.timestamp("us", tz="UTC")),
        }
    )
    truncated = spine_at_milliseconds(spine)
    assert truncated.schema == spine.schema
    assert truncated.column("shown_at").to_pylist() == [
        dt.datetime(2026, 10, 4, 11, 59, 59, 999000),
        dt.datetime(2026, 10, 4, 12, 0, 0, 1000),
    ]
    assert truncated.column("other_at").to_pylist()[0] is None
    assert truncated.column("other_at").to_pylist()[1].microsecond == 999000
    assert truncated.column("user_id").equals(spine.column("user_id"))
