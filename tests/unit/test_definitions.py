"""Definition records and what they say (core/definitions.py), backfill progress per definition and the
newest-first order of a mixed-history backfill (offline/backfill.py), and the mixed-history warning of
training sets (store.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from featurestore.core.definitions import DefinitionState, StoredDefinition, judge
from featurestore.core.errors import OfflineStoreError
from featurestore.offline.backfill import BackfillPlan, BackfillState, Chunk, plan_backfill, run_backfill
from featurestore.store import mixed_history_warnings

BOUNDARY = dt.datetime(2026, 10, 3)
RECORD = '{"fingerprint": "new", "mixed_before": "2026-10-03T00:00:00", "previous_fingerprint": "old"}'


def test_the_record_is_read_from_the_line_after_the_description() -> None:
    comment = f"Reactions per article.\nSecond line.\n\nfeaturestore_definition: {RECORD}"
    assert StoredDefinition.from_comment(comment, "g") == StoredDefinition("new", BOUNDARY, "old")
    assert StoredDefinition.from_comment("Reactions per article.", "g") is None
    assert StoredDefinition.from_comment(None, "g") is None


def test_an_unreadable_record_is_an_error_naming_the_table_and_the_fix() -> None:
    with pytest.raises(OfflineStoreError, match=r"definition record of g .*--full-refresh"):
        StoredDefinition.from_comment('featurestore_definition: {"fingerprint": ""}', "g")


@pytest.mark.parametrize(
    ("stored", "built", "state"),
    [
        (None, False, DefinitionState.NOT_BUILT),
        (None, True, DefinitionState.UNRECORDED),
        (StoredDefinition("old"), True, DefinitionState.STALE),
        (StoredDefinition("old", BOUNDARY, "older"), True, DefinitionState.STALE),
        (StoredDefinition("new"), True, DefinitionState.CURRENT),
        (StoredDefinition("new", BOUNDARY, "old"), True, DefinitionState.MIXED),
    ],
)
def test_judge(stored: StoredDefinition | None, built: bool, state: DefinitionState) -> None:
    assert judge("g", "new", stored, built=built).state is state


def test_a_stale_group_names_both_fixes_and_a_mixed_one_its_boundary() -> None:
    stale = judge("g", "new", StoredDefinition("old")).describe()
    assert (
        "dbt run -s g --full-refresh" in stale
        and "featurestore backfill g --start <date> --accept-mixed-history" in stale
    )
    mixed = judge("g", "new", StoredDefinition("new", BOUNDARY, "old")).describe()
    assert "before 2026-10-03 00:00:00" in mixed and "--end 2026-10-03 00:00:00" in mixed


def test_progress_of_another_definition_is_not_reused(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    start = dt.datetime(2026, 10, 1)
    first = plan_backfill("g", start, start + dt.timedelta(days=4), 1, fingerprint="a")
    run_backfill(first, BackfillState.load(path, first), lambda plan, chunk: None)
    same = plan_backfill("g", start, start + dt.timedelta(days=4), 1, fingerprint="a")
    assert run_backfill(same, BackfillState.load(path, same), lambda plan, chunk: None) == []
    edited = plan_backfill("g", start, start + dt.timedelta(days=4), 1, fingerprint="b")
    assert run_backfill(edited, BackfillState.load(path, edited), lambda plan, chunk: None) == edited.chunks()


def test_a_mixed_history_backfill_runs_newest_first(tmp_path: Path) -> None:
    start = dt.datetime(2026, 10, 1)
    plan = plan_backfill("g", start, start + dt.timedelta(days=3), 1, newest_first=True)
    ran: list[Chunk] = []

    def run(_: BackfillPlan, chunk: Chunk) -> None:
        ran.append(chunk)

    run_backfill(plan, BackfillState.load(tmp_path / "g.json", plan), run)
    assert ran == list(reversed(plan.chunks()))


def test_training_sets_warn_only_when_the_spine_reaches_before_the_boundary() -> None:
    mixed = judge("g", "new", StoredDefinition("new", BOUNDARY, "old"))
    current = judge("h", "new", StoredDefinition("new"))
    before = pa.table({"t": [dt.datetime(2026, 10, 2, 12), dt.datetime(2026, 10, 4)]})
    after = pa.table({"t": [dt.datetime(2026, 10, 3), dt.datetime(2026, 10, 4)]})
    warnings = mixed_history_warnings([mixed, current], before, "t")
    assert len(warnings) == 1 and "feature group g" in warnings[0] and "2026-10-02 12:00:00" in warnings[0]
    assert mixed_history_warnings([mixed, current], after, "t") == []
    # 01:00 in UTC+2 is 23:00 UTC the day before: before the boundary.
    plus_two = dt.timezone(dt.timedelta(hours=2))
    aware = pa.table({"t": pa.array([dt.datetime(2026, 10, 3, 1, tzinfo=plus_two)], pa.timestamp("us", tz="+02:00"))})
    assert len(mixed_history_warnings([mixed], aware, "t")) == 1
