"""The feature catalog and freshness: what each feature group is, who uses it, how fresh it is.

stats.py reads what the offline store says of a group (built, newest event time, grain, statistics per
feature); freshness.py judges it against the contract's thresholds (and the online store's sync) for
`featurestore status`; entries.py joins contracts, the dbt manifest's usages and those facts into catalog
entries (and searches them); site/ writes the static catalog site. The CLI's commands are in cli/catalog.py.
"""

from __future__ import annotations

from featurestore.catalog.entries import CatalogEntry, SearchHit, Usage, build_entries, search
from featurestore.catalog.freshness import GroupStatus, Level, Thresholds, collect_statuses, overall

__all__ = [
    "CatalogEntry",
    "GroupStatus",
    "Level",
    "SearchHit",
    "Thresholds",
    "Usage",
    "build_entries",
    "collect_statuses",
    "overall",
    "search",
]
