"""Feature-group contracts: parsing, and errors that name the model and the field."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from featurestore.core.contract import parse_feature_group, parse_ttl
from featurestore.core.errors import ContractError, ContractErrors, UnknownFeatureGroupError
from featurestore.core.manifest import FeatureGroupCatalog, feature_groups_from_manifest


def _node(**contract_overrides: Any) -> dict[str, Any]:
    contract: dict[str, Any] = {
        "entity": ["user_id"],
        "event_time": "effective_at",
        "online": True,
        "ttl": "7d",
        "owner": "recsys-team",
        "tags": ["user"],
    }
    for key, value in contract_overrides.items():
        if value is _DROP:
            contract.pop(key)
        else:
            contract[key] = value
    return {
        "unique_id": "model.featurestore.user_engagement",
        "name": "user_engagement",
        "resource_type": "model",
        "relation_name": '"featurestore"."main_features"."user_engagement"',
        "description": "Per-user engagement.",
        "config": {"meta": {"feature_group": contract}},
        "columns": {
            "user_id": {"name": "user_id", "data_type": "bigint", "description": "The user."},
            "effective_at": {"name": "effective_at", "data_type": "timestamp", "description": "From."},
            "clicks_7d": {"name": "clicks_7d", "data_type": "bigint", "description": "Clicks, 7 days."},
            "ctr_7d": {"name": "ctr_7d", "data_type": "double", "description": "CTR, 7 days."},
            "computed_at": {"name": "computed_at", "data_type": "timestamp", "description": "Bookkeeping."},
        },
    }


_DROP = object()


def test_a_valid_contract_becomes_a_typed_feature_group() -> None:
    group = parse_feature_group(_node())
    assert group.name == "user_engagement"
    assert group.entity == ("user_id",)
    assert group.event_time == "effective_at"
    assert group.online is True
    assert group.ttl == timedelta(days=7)
    assert group.owner == "recsys-team"
    assert group.tags == ("user",)
    assert group.feature_names == ("clicks_7d", "ctr_7d")
    assert group.feature("ctr_7d").data_type == "double"


def test_a_single_entity_name_and_composite_entities_are_accepted() -> None:
    assert parse_feature_group(_node(entity="user_id")).entity == ("user_id",)
    node = _node(entity=["user_id", "category"])
    node["columns"]["category"] = {"name": "category", "data_type": "varchar", "description": "Category."}
    group = parse_feature_group(node)
    assert group.entity == ("user_id", "category")
    assert "category" not in group.feature_names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("36h", timedelta(hours=36)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
    ],
)
def test_ttl_units(text: str, expected: timedelta) -> None:
    assert parse_ttl(text) == expected


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"entity": _DROP}, "entity", "missing"),
        ({"entity": []}, "entity", "at least one"),
        ({"entity": ["viewer_id"]}, "entity", "unknown column 'viewer_id'"),
        ({"entity": [1]}, "entity", "column name"),
        ({"event_time": _DROP}, "event_time", "missing"),
        ({"event_time": "shown_at"}, "event_time", "unknown column 'shown_at'"),
        ({"event_time": "clicks_7d"}, "event_time", "data_type: timestamp"),
        ({"online": "yes"}, "online", "true or false"),
        ({"online": _DROP}, "online", "true or false"),
        ({"ttl": "7 days"}, "ttl", "not a duration"),
        ({"ttl": "0d"}, "ttl", "not a duration"),
        ({"ttl": 7}, "ttl", "not a duration"),
        ({"ttl": _DROP}, "ttl", "ttl: none if it never expires"),
        ({"owner": ""}, "owner", "owning team"),
        ({"tags": ["user", 3]}, "tags", "list of names"),
        ({"onlne": True}, "onlne", "unknown key"),
        ({"aggregations": ["sum"]}, "aggregations", "must be a mapping"),
        ({"aggregations": {}, "attributes": {}}, "attributes", "not both"),
        ({"aggregations": {"timestamp": "active at"}}, "aggregations.timestamp", "identifier"),
        (
            {"aggregations": {"features": [{"name": "clicks", "function": "sum", "column": "x;drop"}]}},
            "aggregations.features[0].column",
            "identifier",
        ),
        ({"aggregations": {"derived": [{"name": "select"}]}}, "aggregations.derived[0].name", "reserved"),
        ({"aggregations": {"features": "clicks"}}, "aggregations.features", "must be a list"),
        ({"attributes": {"valid_from": "published_at", "columns": ["Category"]}}, "attributes.columns[0]", ""),
    ],
)
def test_a_malformed_contract_names_the_model_and_the_field(
    overrides: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ContractError) as raised:
        parse_feature_group(_node(**overrides))
    assert raised.value.model == "user_engagement"
    assert raised.value.field == field
    assert message in str(raised.value)
    assert str(raised.value).startswith(f"model 'user_engagement': feature_group.{field}:")


def test_tags_are_optional_and_a_single_tag_may_be_a_string() -> None:
    assert parse_feature_group(_node(tags=_DROP)).tags == ()
    assert parse_feature_group(_node(tags="engagement")).tags == ("engagement",)


def test_feature_columns_need_a_type_and_a_description() -> None:
    node = _node()
    node["columns"]["ctr_7d"]["data_type"] = None
    with pytest.raises(ContractError, match=r"feature_group\.columns\.ctr_7d: feature column has no data_type"):
        parse_feature_group(node)
    node = _node()
    node["columns"]["clicks_7d"]["description"] = "  "
    with pytest.raises(ContractError, match=r"columns\.clicks_7d: feature column has no description"):
        parse_feature_group(node)


def test_a_group_without_features_is_rejected() -> None:
    node = _node()
    del node["columns"]["clicks_7d"], node["columns"]["ctr_7d"]
    with pytest.raises(ContractError, match="no feature columns"):
        parse_feature_group(node)


def _manifest(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"nodes": {node["unique_id"]: node for node in nodes}}


def test_the_manifest_yields_only_models_with_a_contract_and_reports_every_broken_one() -> None:
    good = _node()
    plain = copy.deepcopy(good)
    plain.update(unique_id="model.featurestore.stg_x", name="stg_x", config={"meta": {}})
    seed = copy.deepcopy(good)
    seed.update(unique_id="seed.featurestore.s", name="s", resource_type="seed")
    assert list(feature_groups_from_manifest(_manifest(good, plain, seed))) == ["user_engagement"]

    broken_ttl = _node(ttl="soon")
    broken_ttl.update(unique_id="model.featurestore.a", name="a")
    broken_online = _node(online="true")
    broken_online.update(unique_id="model.featurestore.b", name="b")
    with pytest.raises(ContractErrors) as raised:
        feature_groups_from_manifest(_manifest(good, broken_ttl, broken_online))
    assert [(error.model, error.field) for error in raised.value.errors] == [("a", "ttl"), ("b", "online")]
    assert "2 feature-group contract error(s)" in str(raised.value)


def test_an_unknown_group_lists_the_known_ones() -> None:
    catalog = FeatureGroupCatalog(feature_groups_from_manifest(_manifest(_node())))
    with pytest.raises(UnknownFeatureGroupError, match="known groups: user_engagement"):
        catalog.get("user_engagment")
