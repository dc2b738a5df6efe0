"""The feature catalog: for each feature group, what it is (contract), how it is doing (freshness and recent
statistics, from feature_stats and freshness) and who uses it (downstream models such as training sets, and
exposures, from the dbt manifest). `featurestore list/describe/search` print it; `featurestore catalog`
renders it as a static site (catalog_site)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from featurestore.catalog.freshness import GroupStatus
from featurestore.catalog.stats import FeatureStats
from featurestore.core.contract import FeatureGroup

# The views every feature group gets (macros/create_feature_group_views.sql; docs/bi.md).
VIEW_SUFFIXES = ("__current", "__validity")


@dataclass(frozen=True)
class Usage:
    """A downstream model or exposure of a feature group."""

    kind: str  # "model" or "exposure"
    name: str
    unique_id: str
    description: str = ""
    # "training set" for models under models/training_sets/, else the resource type or exposure type.
    role: str = ""
    owner: str = ""


@dataclass(frozen=True)
class CatalogEntry:
    group: FeatureGroup
    usages: tuple[Usage, ...] = ()
    status: GroupStatus | None = None

    @property
    def views(self) -> tuple[str, ...]:
        """The group's views, named as a query writes them (database.schema.view, unquoted)."""
        table = self.group.relation_name.replace('"', "").replace("`", "")
        return tuple(table + suffix for suffix in VIEW_SUFFIXES) if table else ()

    def stats(self, feature: str) -> FeatureStats | None:
        if self.status is None:
            return None
        return next((stats for stats in self.status.facts.features if stats.name == feature), None)


def usages_of(manifest: Mapping[str, Any], unique_id: str) -> tuple[Usage, ...]:
    """Every model and exposure downstream of `unique_id` (transitively), models first, each once."""
    child_map: Mapping[str, list[str]] = manifest.get("child_map") or {}
    if not child_map:
        # A manifest written by `dbt parse` has the map too; build it from depends_on if absent.
        computed: dict[str, list[str]] = {}
        for section in ("nodes", "exposures"):
            for node_id, node in (manifest.get(section) or {}).items():
                for parent in (node.get("depends_on") or {}).get("nodes", []):
                    computed.setdefault(parent, []).append(node_id)
        child_map = computed
    seen: set[str] = set()
    queue = list(child_map.get(unique_id, []))
    while queue:
        node_id = queue.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        queue.extend(child_map.get(node_id, []))
    models, exposures = [], []
    for node_id in sorted(seen):
        node = (manifest.get("nodes") or {}).get(node_id)
        if node is not None and node.get("resource_type") == "model":
            folder = str(node.get("original_file_path") or node.get("path") or "")
            models.append(
                Usage(
                    kind="model",
                    name=str(node.get("name")),
                    unique_id=node_id,
                    description=str(node.get("description") or "").strip(),
                    role="training set" if "training_sets/" in folder else "model",
                )
            )
            continue
        exposure = (manifest.get("exposures") or {}).get(node_id)
        if exposure is not None:
            owner = exposure.get("owner") or {}
            exposures.append(
                Usage(
                    kind="exposure",
                    name=str(exposure.get("label") or exposure.get("name")),
                    unique_id=node_id,
                    description=str(exposure.get("description") or "").strip(),
                    role=str(exposure.get("type") or "exposure"),
                    owner=str(owner.get("name") or owner.get("email") or ""),
                )
            )
    return tuple(models + exposures)


def build_entries(
    groups: Iterable[FeatureGroup], manifest: Mapping[str, Any], statuses: Mapping[str, GroupStatus] | None = None
) -> list[CatalogEntry]:
    statuses = statuses or {}
    return [CatalogEntry(group, usages_of(manifest, group.unique_id), statuses.get(group.name)) for group in groups]


@dataclass(frozen=True)
class SearchHit:
    entry: CatalogEntry
    # Where the text was found: "group", "description", "tag", "owner", "entity", or "feature <name>".
    matched: tuple[str, ...] = field(default=())
    features: tuple[str, ...] = field(default=())


def search(entries: Iterable[CatalogEntry], text: str) -> list[SearchHit]:
    """Groups whose name, description, owner, tags, entity or any feature (name or description) contains every
    word of `text` (case-insensitive); each hit names where and which features matched."""
    words = [word for word in text.lower().split() if word]
    hits = []
    for entry in entries:
        group = entry.group
        fields = {
            "group": group.name,
            "description": group.description,
            "owner": group.owner,
            "tag": " ".join(group.tags),
            "entity": " ".join(group.entity),
        }
        feature_text = {feature.name: f"{feature.name} {feature.description}" for feature in group.features}
        haystack = " ".join([*fields.values(), *feature_text.values()]).lower()
        if not words or not all(word in haystack for word in words):
            continue
        matched = tuple(name for name, value in fields.items() if any(word in value.lower() for word in words))
        features = tuple(name for name, value in feature_text.items() if any(word in value.lower() for word in words))
        hits.append(SearchHit(entry, matched, features))
    return hits
