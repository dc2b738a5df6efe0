"""What is uploaded to Athena as a Hive table is moved to milliseconds the safe way: Athena would round it,
possibly into the future. A spine's label times are truncated, a candidate's event times rounded up."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from featurestore.offline.athena.training_sets import candidate_at_milliseconds, spine_at_milliseconds


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


def test_candidate_event_times_are_rounded_up_never_down() -> None:
    """Issue 13, item 5, for candidates: a feature row at 12:00:00.0004 read as 12:00:00.000 would join a label
    at 12:00:00 (inclusive), before the row existed."""
    just_after_noon = dt.datetime(2026, 10, 4, 12, 0, 0, 400)
    candidate = pa.table(
        {
            "user_id": pa.array([1, 2, 3], pa.int64()),
            "effective_at": pa.array(
                [just_after_noon, dt.datetime(2026, 10, 4, 12, 0, 0, 2000), None], pa.timestamp("us")
            ),
            "seen_at": pa.array([just_after_noon, None, None], pa.timestamp("us")),
        }
    )
    moved = candidate_at_milliseconds(candidate, "effective_at")
    assert moved.schema == candidate.schema
    assert moved.column("effective_at").to_pylist() == [
        dt.datetime(2026, 10, 4, 12, 0, 0, 1000),
        dt.datetime(2026, 10, 4, 12, 0, 0, 2000),  # already a millisecond: unchanged
        None,
    ]
    assert moved.column("seen_at").equals(candidate.column("seen_at"))  # a feature value, not a time of validity
