"""Definition fingerprints: the record stored with a feature group's table, and what it says of the table's
history compared with the group's current definition.

dbt computes the fingerprint (macros/feature_group_fingerprint.sql, the one home of the algorithm) and stores
the record after each successful build (macros/store_feature_group_definition.sql): JSON
`{"fingerprint": ..., "mixed_before": ..., "previous_fingerprint": ...}`, in the table's comment on DuckDB
(the line `featurestore_definition: <json>`), in the Glue table parameter `featurestore_definition` on
Athena. The offline engines read it; this module parses it and judges it. See docs/architecture.md,
"Definition fingerprints".
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
from dataclasses import dataclass

from featurestore.core.errors import OfflineStoreError

# The Glue table parameter (Athena) and the comment line prefix (DuckDB) holding the record.
RECORD_KEY = "featurestore_definition"
_COMMENT_LINE = re.compile(rf"^{RECORD_KEY}: (\{{.*\}})$", re.MULTILINE)


@dataclass(frozen=True)
class StoredDefinition:
    """The definition record of a table: the fingerprint of the definition its history (from `mixed_before`
    on, when set) was computed by, and the older definition that computed the history before it."""

    fingerprint: str
    mixed_before: dt.datetime | None = None
    previous_fingerprint: str | None = None

    @classmethod
    def from_json(cls, text: str, where: str) -> StoredDefinition:
        try:
            record = json.loads(text)
            fingerprint = record["fingerprint"]
            mixed_before = record.get("mixed_before")
            if not isinstance(fingerprint, str) or not fingerprint:
                raise ValueError("no fingerprint")
            return cls(
                fingerprint,
                dt.datetime.fromisoformat(mixed_before) if mixed_before else None,
                record.get("previous_fingerprint") or None,
            )
        except (ValueError, KeyError, TypeError) as error:
            raise OfflineStoreError(
                f"the definition record of {where} is not readable ({error}): {text[:200]!r}; rebuild the group "
                "with `dbt run -s <group> --full-refresh` to write a new one"
            ) from None

    @classmethod
    def from_comment(cls, comment: str | None, where: str) -> StoredDefinition | None:
        """The record in a DuckDB table comment (None when it holds none)."""
        found = _COMMENT_LINE.search(comment or "")
        return cls.from_json(found.group(1), where) if found else None


class DefinitionState(enum.Enum):
    CURRENT = "current"  # the whole history is the current definition's
    MIXED = "mixed"  # current from `mixed_before` on, an older definition's before it (accepted, recorded)
    STALE = "stale"  # the stored history is another definition's: rebuild before using it
    UNRECORDED = "unrecorded"  # built before fingerprints existed: adopted by its next dbt run
    NOT_BUILT = "not built"


@dataclass(frozen=True)
class DefinitionStatus:
    group: str
    state: DefinitionState
    current: str
    stored: StoredDefinition | None

    def fix(self) -> str:
        """The command(s) that bring the stored history to the current definition."""
        if self.state is DefinitionState.STALE:
            return (
                f"`dbt run -s {self.group} --full-refresh` (then `featurestore sync`), or "
                f"`featurestore backfill {self.group} --start <date> --accept-mixed-history` to keep the history "
                "before <date> as the old definition computed it"
            )
        if self.state is DefinitionState.MIXED and self.stored and self.stored.mixed_before:
            return (
                f"`featurestore backfill {self.group} --start <date> --end "
                f"{self.stored.mixed_before.isoformat(sep=' ')}` (an earlier <date> moves the boundary), or "
                f"`dbt run -s {self.group} --full-refresh`"
            )
        return ""

    def describe(self) -> str:
        """One line for `featurestore status` and the errors of the training-set and sync paths."""
        if self.state is DefinitionState.STALE:
            stored = self.stored.fingerprint[:12] if self.stored else "?"
            return (
                f"stale: its stored history was computed by definition {stored}, the current one is "
                f"{self.current[:12]}; fix: {self.fix()}"
            )
        if self.state is DefinitionState.MIXED and self.stored and self.stored.mixed_before:
            previous = (self.stored.previous_fingerprint or "?")[:12]
            return (
                f"mixed history: values before {self.stored.mixed_before.isoformat(sep=' ')} were computed by an "
                f"older definition ({previous}), from it on by the current one ({self.current[:12]}); to recompute "
                f"the rest: {self.fix()}"
            )
        if self.state is DefinitionState.UNRECORDED:
            return (
                "no definition fingerprint stored: built before fingerprints existed (its next dbt run adopts the "
                "current definition), or a hand-written group (SQL without featurestore.feature_group(): no "
                f"fingerprint). If it was built by an older definition: dbt run -s {self.group} --full-refresh"
            )
        return str(self.state.value)


def judge(group: str, current: str, stored: StoredDefinition | None, *, built: bool = True) -> DefinitionStatus:
    """What the stored record says of a group's history under its current fingerprint."""
    if not built:
        state = DefinitionState.NOT_BUILT
    elif stored is None:
        state = DefinitionState.UNRECORDED
    elif stored.fingerprint != current:
        state = DefinitionState.STALE
    elif stored.mixed_before is not None:
        state = DefinitionState.MIXED
    else:
        state = DefinitionState.CURRENT
    return DefinitionStatus(group, state, current, stored)
