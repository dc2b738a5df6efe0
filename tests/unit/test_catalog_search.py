"""Catalog logic without dbt: who uses a group (downstream models and exposures, transitively, from a
manifest) and the search over groups and features."""

from __future__ import annotations

from support.online_support import make_group

from featurestore.catalog.entries import CatalogEntry, build_entries, search, usages_of

MANIFEST = {
    "nodes": {
        "model.p.fg_test": {"resource_type": "model", "name": "fg_test", "depends_on": {"nodes": []}},
        "model.p.labels": {"resource_type": "model", "name": "labels", "depends_on": {"nodes": []}},
        "model.p.training": {
            "resource_type": "model",
            "name": "training",
            "original_file_path": "models/training_sets/training.sql",
            "description": "clicks training set",
            "depends_on": {"nodes": ["model.p.fg_test", "model.p.labels"]},
        },
        "model.p.report": {
            "resource_type": "model",
            "name": "report",
            "original_file_path": "models/marts/report.sql",
            "depends_on": {"nodes": ["model.p.training"]},
        },
        "test.p.not_null": {"resource_type": "test", "name": "not_null", "depends_on": {"nodes": ["model.p.fg_test"]}},
    },
    "exposures": {
        "exposure.p.ranker": {
            "name": "ranker",
            "label": "Feed ranker",
            "type": "ml",
            "owner": {"name": "recsys"},
            "depends_on": {"nodes": ["model.p.training"]},
        }
    },
}


def test_usages_are_downstream_models_then_exposures_transitively() -> None:
    # No child_map in this manifest: it is built from depends_on.
    usages = usages_of(MANIFEST, "model.p.fg_test")
    assert [(u.kind, u.name, u.role) for u in usages] == [
        ("model", "report", "model"),
        ("model", "training", "training set"),
        ("exposure", "Feed ranker", "ml"),
    ]
    assert usages[2].owner == "recsys"
    assert usages_of(MANIFEST, "model.p.report") == ()


def test_search_needs_every_word_and_names_the_matching_features() -> None:
    (entry,) = build_entries([make_group()], MANIFEST)
    other = CatalogEntry(make_group("other_group", entity=(("article_id", "bigint"),)))
    entries = [entry, other]
    hits = search(entries, "ratio 7d")
    assert [hit.entry.group.name for hit in hits] == ["fg_test", "other_group"]
    assert hits[0].features == ("count_7d", "ratio_7d")
    assert [hit.entry.group.name for hit in search(entries, "article")] == ["other_group"]
    assert search(entries, "article ratio nothing") == []
    assert [hit.matched for hit in search(entries, "TESTS")] == [("owner",), ("owner",)]
