"""Chunked, resumable backfills: planning, progress that survives a failed chunk, and the CLI end to end."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from featurestore.core.errors import BackfillError
from featurestore.offline.backfill import BackfillPlan, BackfillState, Chunk, plan_backfill, run_backfill

DAY = dt.timedelta(days=1)
START = dt.datetime(2026, 1, 1)


def test_chunks_cover_the_range_exactly_oldest_first() -> None:
    plan = plan_backfill("g", START, START + 10 * DAY, chunk_days=4)
    assert [(c.start, c.end) for c in plan.chunks()] == [
        (START, START + 4 * DAY),
        (START + 4 * DAY, START + 8 * DAY),
        (START + 8 * DAY, START + 10 * DAY),
    ]


def test_only_the_last_chunk_extends_the_range() -> None:
    # The model extends a backfill's end by its windows' reach; chunked, the plan's end is extended once.
    plan = plan_backfill("g", START, START + 10 * DAY, chunk_days=4)
    assert [c.extends for c in plan.chunks()] == [False, False, True]
    assert [c.extends for c in plan_backfill("g", START, START + DAY, chunk_days=7).chunks()] == [True]


def test_aware_times_are_converted_to_utc() -> None:
    tokyo = dt.timezone(dt.timedelta(hours=9))
    plan = plan_backfill("g", dt.datetime(2026, 1, 1, 9, tzinfo=tokyo), dt.datetime(2026, 1, 2, 9, tzinfo=tokyo), 1)
    assert (plan.start, plan.end) == (START, START + DAY)


@pytest.mark.parametrize(
    ("start", "end", "chunk_days", "message"),
    [
        (START, START, 1, "must be before --end"),
        (START + DAY, START, 1, "must be before --end"),
        (START, START + DAY, 0, "--chunk-days must be between 1 and 100"),
        (START, START + DAY, 101, "--chunk-days must be between 1 and 100"),
    ],
)
def test_bad_requests_are_refused(start: dt.datetime, end: dt.datetime, chunk_days: int, message: str) -> None:
    with pytest.raises(BackfillError, match=message):
        plan_backfill("g", start, end, chunk_days)


class _Runner:
    def __init__(self, fail_on: int | None = None) -> None:
        self.fail_on = fail_on
        self.ran: list[Chunk] = []

    def __call__(self, plan: BackfillPlan, chunk: Chunk) -> None:
        if self.fail_on is not None and len(self.ran) == self.fail_on:
            raise BackfillError(f"chunk {chunk.label()} failed")
        self.ran.append(chunk)


def test_a_failed_chunk_keeps_earlier_progress_and_a_rerun_resumes_there(tmp_path: Path) -> None:
    state_path = tmp_path / "backfills" / "g.json"
    plan = plan_backfill("g", START, START + 5 * DAY, chunk_days=1)
    chunks = plan.chunks()

    failing = _Runner(fail_on=2)
    with pytest.raises(BackfillError, match="failed"):
        run_backfill(plan, BackfillState.load(state_path, plan), failing)
    assert failing.ran == chunks[:2]
    assert json.loads(state_path.read_text())["done"] == [c.to_json() for c in chunks[:2]]

    statuses: list[tuple[Chunk, str]] = []
    resumed = _Runner()
    ran = run_backfill(
        plan, BackfillState.load(state_path, plan), resumed, on_chunk=lambda c, s: statuses.append((c, s))
    )
    assert ran == resumed.ran == chunks[2:]
    assert [s for c, s in statuses if c in chunks[:2]] == ["skipped", "skipped"]

    # Everything is done now: a third run does nothing; --restart does it all again.
    assert run_backfill(plan, BackfillState.load(state_path, plan), _Runner()) == []
    assert run_backfill(plan, BackfillState.load(state_path, plan, restart=True), _Runner()) == chunks


def test_progress_of_another_request_is_not_reused(tmp_path: Path) -> None:
    state_path = tmp_path / "g.json"
    first = plan_backfill("g", START, START + 2 * DAY, chunk_days=1)
    run_backfill(first, BackfillState.load(state_path, first), _Runner())
    other = plan_backfill("g", START, START + 2 * DAY, chunk_days=2)
    assert run_backfill(other, BackfillState.load(state_path, other), _Runner()) == other.chunks()


def test_unreadable_progress_is_an_error_not_a_silent_restart(tmp_path: Path) -> None:
    state_path = tmp_path / "g.json"
    state_path.write_text("{not json")
    plan = plan_backfill("g", START, START + DAY, chunk_days=1)
    with pytest.raises(BackfillError, match="rerun with --restart"):
        BackfillState.load(state_path, plan)
