"""Chunked, resumable range backfills of a feature group.

A backfill of [start, end) runs `dbt run --select <group> --vars {backfill_start, backfill_end}` once per
chunk, oldest first. The model extends a backfill's end by the reach of its windows (macros/backfill_extent.sql,
the one home of that rule): every chunk but the last runs with `backfill_extend: false`, so the plan's end is
extended once, by its last chunk (`Chunk.extends`). Each chunk is one bounded MERGE (plus the delete of its
stale rows), so a year of history stays under Athena's limits (100 partitions written per statement, query
timeouts). Progress is recorded after every successful chunk in a small JSON file under the dbt target folder;
running the same backfill again resumes after the last completed chunk. Progress is kept per group, range,
chunking and definition fingerprint: after the group's definition changed, the same command recomputes every
chunk.

With `--accept-mixed-history` (a changed definition recomputed from a date, the older history kept as the
old definition computed it) the chunks run newest first: dbt accepts the changed definition only for a range
that reaches past the table's newest row, and records the boundary; each older chunk then moves it down. A
chunk's end boundary then meets rows the newer chunk already rewrote, so it restores the new definition's
values there.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from featurestore.core.errors import BackfillError
from featurestore.core.timestamps import naive_utc

MAX_CHUNK_DAYS = 100  # Athena writes at most 100 partitions per statement; groups are partitioned by day.
# Athena stops a DML statement after 30 minutes; a week of history per statement keeps a chunk's MERGE far
# below that for the demo's groups (docs/athena.md, "Sizing backfill chunks"). Larger groups size it down.
DEFAULT_CHUNK_DAYS = 7


@dataclass(frozen=True)
class Chunk:
    start: dt.datetime
    end: dt.datetime
    # The plan's last chunk: the model extends its end by the windows' reach (or to the table's end).
    extends: bool = False

    def label(self) -> str:
        return f"[{self.start.isoformat(sep=' ')}, {self.end.isoformat(sep=' ')})"

    def to_json(self) -> list[str]:
        return [self.start.isoformat(), self.end.isoformat()]


@dataclass(frozen=True)
class BackfillPlan:
    group: str
    start: dt.datetime
    end: dt.datetime
    chunk_days: int
    # The group's definition fingerprint (macros/feature_group_fingerprint.sql) when planned: progress of
    # another definition says nothing about this one.
    fingerprint: str = ""
    # Under a changed definition with --accept-mixed-history: newest chunk first (see the module's docstring).
    newest_first: bool = False

    def chunks(self) -> list[Chunk]:
        step = dt.timedelta(days=self.chunk_days)
        chunks, cursor = [], self.start
        while cursor < self.end:
            end = min(cursor + step, self.end)
            chunks.append(Chunk(cursor, end, extends=end == self.end))
            cursor += step
        return chunks

    def key(self) -> dict[str, object]:
        return {
            "group": self.group,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "chunk_days": self.chunk_days,
            "fingerprint": self.fingerprint,
        }


def plan_backfill(
    group: str,
    start: dt.datetime,
    end: dt.datetime,
    chunk_days: int,
    *,
    fingerprint: str = "",
    newest_first: bool = False,
) -> BackfillPlan:
    """Validate a backfill request; times are UTC (naive or aware)."""
    start, end = naive_utc(start), naive_utc(end)
    if start >= end:
        raise BackfillError(f"--start ({start.isoformat()}) must be before --end ({end.isoformat()})")
    if not 1 <= chunk_days <= MAX_CHUNK_DAYS:
        raise BackfillError(
            f"--chunk-days must be between 1 and {MAX_CHUNK_DAYS} (Athena writes at most 100 daily partitions "
            f"per statement), got {chunk_days}"
        )
    return BackfillPlan(
        group=group, start=start, end=end, chunk_days=chunk_days, fingerprint=fingerprint, newest_first=newest_first
    )


class BackfillState:
    """Which chunks of one backfill are done, persisted after each chunk."""

    def __init__(self, path: Path, plan: BackfillPlan) -> None:
        self.path = path
        self.plan = plan
        self.done: set[tuple[str, str]] = set()

    @classmethod
    def load(cls, path: Path, plan: BackfillPlan, *, restart: bool = False) -> BackfillState:
        state = cls(path, plan)
        if restart or not path.is_file():
            return state
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise BackfillError(f"cannot read backfill progress {path}: {error}; rerun with --restart") from error
        # Progress of a different request (other range or chunking) says nothing about this one.
        if saved.get("plan") == plan.key():
            state.done = {tuple(chunk) for chunk in saved.get("done", [])}
        return state

    def is_done(self, chunk: Chunk) -> bool:
        return tuple(chunk.to_json()) in self.done

    def mark_done(self, chunk: Chunk) -> None:
        self.done.add(tuple(chunk.to_json()))  # type: ignore[arg-type]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(
            json.dumps({"plan": self.plan.key(), "done": sorted(self.done)}, indent=2), encoding="utf-8"
        )
        # Replace atomically so a crash mid-write never loses earlier progress.
        temporary.replace(self.path)


ChunkRunner = Callable[[BackfillPlan, Chunk], None]
"""Runs one chunk; raises BackfillError when it fails."""


def run_backfill(
    plan: BackfillPlan,
    state: BackfillState,
    run_chunk: ChunkRunner,
    *,
    on_chunk: Callable[[Chunk, str], None] | None = None,
) -> list[Chunk]:
    """Run the plan's pending chunks oldest first (newest first for plan.newest_first); returns the chunks run
    now. `on_chunk(chunk, status)` is called with status "skipped" (done earlier), "running" and "done"."""
    ran = []
    chunks = plan.chunks()
    for chunk in reversed(chunks) if plan.newest_first else chunks:
        if state.is_done(chunk):
            if on_chunk:
                on_chunk(chunk, "skipped")
            continue
        if on_chunk:
            on_chunk(chunk, "running")
        run_chunk(plan, chunk)
        state.mark_done(chunk)
        ran.append(chunk)
        if on_chunk:
            on_chunk(chunk, "done")
    return ran


def dbt_chunk_runner(
    project_dir: Path,
    *,
    target: str | None = None,
    extra_args: Sequence[str] = (),
    variables: Mapping[str, object] | None = None,
) -> ChunkRunner:
    """A ChunkRunner that invokes dbt in-process (dbt's programmatic runner) from the project folder; `variables`
    are passed with the chunk's range (e.g. accept_mixed_history)."""

    def run(plan: BackfillPlan, chunk: Chunk) -> None:
        from dbt.cli.main import dbtRunner

        bounds = {
            "backfill_start": chunk.start.isoformat(),
            "backfill_end": chunk.end.isoformat(),
            "backfill_extend": chunk.extends,
        }
        chunk_vars = {**(variables or {}), **bounds}
        args = ["run", "--select", plan.group, "--vars", json.dumps(chunk_vars), "--project-dir", str(project_dir)]
        if target:
            args += ["--target", target]
        result = dbtRunner().invoke([*args, *extra_args])
        if not result.success:
            detail = f": {result.exception}" if result.exception else " (see dbt's output above)"
            raise BackfillError(
                f"backfill of {plan.group} failed on chunk {chunk.label()}{detail}; "
                "fix the cause and rerun the same command to resume from this chunk"
            )

    return run
