"""Is each feature group's stored history its current definition? The current fingerprint comes from dbt
(the macro feature_group_fingerprint(), compiled in-process: rendered from manifest.json without starting
dbt while the manifest is current), the stored record from the offline engine (OfflineStore.stored_definition);
core/definitions.py judges them. Used by `featurestore status`, the training-set path, the sync and backfills.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from featurestore.core.contract import FeatureGroup
from featurestore.core.dbt_compiler import DbtCompiler
from featurestore.core.definitions import DefinitionState, DefinitionStatus, judge
from featurestore.core.errors import BackfillError, DbtCompileError, OfflineStoreError, StaleDefinitionError
from featurestore.core.timestamps import naive_utc
from featurestore.offline.base import OfflineEngine, OfflineStore


def current_fingerprints(compiler: DbtCompiler, groups: Sequence[str]) -> dict[str, str]:
    """Each group's current definition fingerprint, computed by dbt's macro (one compile for all)."""
    if not groups:
        return {}
    calls = ", ".join(
        f"{json.dumps(name)}: featurestore.feature_group_fingerprint({json.dumps(name)})" for name in groups
    )
    text = compiler.compile("{{ tojson({" + calls + "}) }}")
    try:
        fingerprints = json.loads(text)
    except ValueError:
        raise DbtCompileError(f"feature_group_fingerprint() gave no fingerprints: {text[:200]!r}") from None
    return {name: str(fingerprints[name]) for name in groups}


class DefinitionChecker:
    """Compares the definition stored with each group's table with its current one."""

    def __init__(self, store: OfflineStore, compiler: DbtCompiler) -> None:
        self.store = store
        self.compiler = compiler

    def statuses(self, groups: Sequence[FeatureGroup]) -> list[DefinitionStatus]:
        records = {}
        for group in groups:
            try:
                records[group.name] = (self.store.stored_definition(group), True)
            except OfflineStoreError:
                records[group.name] = (None, False)
        # Only groups with a stored record have something to compare: tables built before fingerprints (or by
        # hand) need no compile.
        current = current_fingerprints(self.compiler, [name for name, (stored, _) in records.items() if stored])
        return [
            judge(group.name, current.get(group.name, ""), records[group.name][0], built=records[group.name][1])
            for group in groups
        ]

    def require_current(self, groups: Sequence[FeatureGroup], what: str) -> list[DefinitionStatus]:
        """The groups' statuses; StaleDefinitionError naming every stale group and its fix."""
        statuses = self.statuses(groups)
        stale = [status for status in statuses if status.state is DefinitionState.STALE]
        if stale:
            lines = "\n".join(f"  {status.group}: {status.describe()}" for status in stale)
            raise StaleDefinitionError(
                f"{what} refused: the stored history of {len(stale)} group(s) is not their current definition\n{lines}"
            )
        return statuses


def backfill_definition(engine: OfflineEngine, group: FeatureGroup, *, accept_mixed_history: bool) -> tuple[str, bool]:
    """For `featurestore backfill`: the group's current fingerprint (keys its progress) and whether its stored
    history is another definition's (then the backfill runs newest first); BackfillError when it is and
    mixed history was not accepted."""
    if engine.compiler is None:
        return "", False
    status = DefinitionChecker(engine.store, engine.compiler).statuses([group])[0]
    changed = status.state is DefinitionState.STALE
    if changed and not accept_mixed_history:
        raise BackfillError(
            f"feature group {group.name}: {status.describe()}; a backfill of a range would leave the history "
            "around it computed by the old definition while the table claims the new one"
        )
    return status.current, changed


def end_after_newest_row(store: OfflineStore, group: FeatureGroup) -> dt.datetime:
    """Midnight after the newest event time in the group's table: a backfill ending there covers every row."""
    newest = store.query(group, f"select max({group.event_time}) as newest from {group.relation_name}")
    value = newest.column(0)[0].as_py() if newest.num_rows else None
    if value is None:
        raise BackfillError(f"feature group {group.name} has no rows: build it with `dbt run -s {group.name}`")
    value = naive_utc(value) if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return dt.datetime.combine(value.date(), dt.time()) + dt.timedelta(days=1)
