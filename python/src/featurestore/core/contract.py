"""The feature-group contract: what a dbt model declares under `config.meta.feature_group`.

A model is a feature group when its `config.meta` holds a `feature_group` mapping::

    config:
      meta:
        feature_group:
          entity: [user_id]          # entity key column(s), declared under `columns:`
          event_time: effective_at   # the timestamp from which a row's values hold
          online: true               # push the latest row per entity to the online store
          ttl: 7d                    # a value older than this is treated as missing; `none`: never expires
          owner: recsys-team
          tags: [user, engagement]   # optional
          freshness:                 # optional; defaults from the group's grain (featurestore.catalog.freshness)
            warn_after: 1h           #   lag of the newest event time behind now that warns
            error_after: 6h          #   ... and that is an error
          aggregations: {...}        # optional: a declarative group (docs/feature_groups.md), or
          attributes: {...}          # optional: a declarative attribute group

Every declared column that is not an entity key, the event time or a bookkeeping column
(`computed_at`: when the row was last recomputed) is a feature, and needs a `data_type` and a
`description`. An online group declares `computed_at` (the sync reads the rows computed since its last
run); a hand-written incremental model has `unique_key` = entity + event time (declarative groups set it).

`check_feature_group` reports every problem of a model at once; `parse_feature_group` raises the first.
The columns a model's SQL returns are checked against the declaration by core/output_columns.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

# The field checks; parse_ttl and NO_TTL are re-exported (the contract's API).
from featurestore.core.contract_fields import (
    NO_TTL as NO_TTL,
)
from featurestore.core.contract_fields import (
    Problems,
    check_declaration_names,
    check_unique_key,
    entity_of,
    event_time_of,
    freshness_of,
    online_of,
    owner_of,
    parse_group_ttl,
    string_list,
)
from featurestore.core.contract_fields import (
    parse_ttl as parse_ttl,
)
from featurestore.core.errors import ContractError, UnknownFeatureError
from featurestore.core.identifiers import contract_name_problem, shorten

CONTRACT_KEY = "feature_group"
_ALLOWED_KEYS = frozenset(
    {"entity", "event_time", "online", "ttl", "owner", "tags", "freshness", "aggregations", "attributes"}
)
# Declarations of declarative groups (docs/feature_groups.md): dbt checks their contents when it compiles the
# model (macros/feature_group_spec.sql); here only their shape, so a typo'd key is still named.
_DECLARATION_KEYS = ("aggregations", "attributes")
BOOKKEEPING_COLUMNS = frozenset({"computed_at"})


FEATURE_SEPARATOR = ":"


@dataclass(frozen=True)
class FeatureRef:
    """A feature named `group:feature`, as the online lookups and the training sets take them."""

    group: str
    feature: str

    def __str__(self) -> str:
        return f"{self.group}{FEATURE_SEPARATOR}{self.feature}"

    @classmethod
    def parse(cls, reference: str) -> FeatureRef:
        group, separator, feature = reference.partition(FEATURE_SEPARATOR)
        group, feature = group.strip(), feature.strip()
        if not separator or not group or not feature or FEATURE_SEPARATOR in feature:
            raise UnknownFeatureError(reference, "not of the form <group>:<feature>, e.g. user_engagement:clicks_7d")
        return cls(group, feature)


@dataclass(frozen=True)
class Feature:
    name: str
    data_type: str
    description: str


@dataclass(frozen=True)
class FeatureGroup:
    """A validated feature group, as the Python side needs it."""

    name: str
    unique_id: str
    relation_name: str
    description: str
    entity: tuple[str, ...]
    event_time: str
    online: bool
    # None: `ttl: none`, the values never expire.
    ttl: timedelta | None
    ttl_text: str
    owner: str
    tags: tuple[str, ...]
    features: tuple[Feature, ...]
    # data_type of each entity column ('' when undeclared), in `entity` order: how online keys are typed.
    entity_types: tuple[str, ...] = ()
    # The contract's `freshness` thresholds; None: not declared (featurestore.catalog.freshness derives defaults).
    freshness_warn_after: timedelta | None = None
    freshness_error_after: timedelta | None = None

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(feature.name for feature in self.features)

    def expires_at(self, event_time: datetime) -> datetime | None:
        """When a value holding from `event_time` expires; None: never (`ttl: none`)."""
        return None if self.ttl is None else event_time + self.ttl

    def feature(self, name: str) -> Feature:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(name)


def contract_of(node: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The raw contract of a manifest node, or None when the model is not a feature group."""
    config_meta = (node.get("config") or {}).get("meta") or {}
    meta = config_meta if CONTRACT_KEY in config_meta else node.get("meta") or {}
    return meta.get(CONTRACT_KEY)


def parse_feature_group(node: Mapping[str, Any]) -> FeatureGroup:
    """Validate one manifest model node carrying a contract and turn it into a FeatureGroup.

    Raises ContractError naming the model and the field of the first problem (check_feature_group: all)."""
    group, problems = check_feature_group(node)
    if problems:
        raise problems[0]
    assert group is not None
    return group


def check_feature_group(node: Mapping[str, Any]) -> tuple[FeatureGroup | None, list[ContractError]]:
    """Validate one manifest model node carrying a contract: the FeatureGroup (None when anything is
    wrong) and every problem found, each naming the model, the field and the fix."""
    model = str(node.get("name", node.get("unique_id", "?")))
    if problem := contract_name_problem(model):
        # The group's name becomes an online table name and a prefix of training-set columns.
        return None, [ContractError(shorten(model), "", f"the model's name cannot name a feature group: {problem}")]
    contract = contract_of(node)
    if not isinstance(contract, Mapping):
        return None, [ContractError(model, "", f"must be a mapping of entity, event_time, ..., got {contract!r}")]
    problems = Problems()

    for key in sorted(str(key) for key in contract if key not in _ALLOWED_KEYS):
        problems.add(model, shorten(key), f"unknown key; allowed keys are {', '.join(sorted(_ALLOWED_KEYS))}")

    columns: Mapping[str, Any] = node.get("columns") or {}
    declarative = [key for key in _DECLARATION_KEYS if key in contract]
    for key in declarative:
        if not isinstance(contract[key], Mapping):
            problems.add(model, key, f"must be a mapping (see docs/feature_groups.md), got {contract[key]!r}")
        else:
            problems.check(partial(check_declaration_names, model, key, contract[key]))
    if len(declarative) == len(_DECLARATION_KEYS):
        problems.add(model, "attributes", "declare either aggregations or attributes, not both")

    entity = entity_of(model, contract, columns, problems)
    event_time = problems.check(lambda: event_time_of(model, contract, columns, entity))
    online = problems.check(lambda: online_of(model, contract))
    ttl_text = contract.get("ttl")
    ttl = problems.check(lambda: parse_group_ttl(ttl_text, model=model))
    owner = problems.check(lambda: owner_of(model, contract))
    tags = problems.check(lambda: string_list(model, "tags", contract.get("tags", [])))
    freshness = problems.check(lambda: freshness_of(model, contract.get("freshness")))

    features = []
    for name, column in columns.items():
        if name in entity or name == event_time or name in BOOKKEEPING_COLUMNS:
            continue
        if problem := contract_name_problem(name):
            problems.add(model, f"columns.{shorten(name)}", problem)
            continue
        data_type = str(column.get("data_type") or "").strip()
        description = str(column.get("description") or "").strip()
        if not data_type:
            problems.add(
                model, f"columns.{name}", "feature column has no data_type; declare it, e.g. data_type: bigint"
            )
        if not description:
            problems.add(model, f"columns.{name}", "feature column has no description; say what the value means")
        features.append(Feature(name=name, data_type=data_type.lower(), description=description))
    if not features:
        problems.add(model, "columns", "declares no feature columns besides the entity and event time")

    if online and "computed_at" not in columns:
        problems.add(
            model,
            "columns.computed_at",
            "missing: an online group's sync reads the rows computed since its last run; declare "
            "`- name: computed_at` with data_type: timestamp (declarative groups produce it; a hand-written "
            "model selects the run's start time, see docs/feature_groups.md)",
        )
    if entity and event_time and not declarative:
        check_unique_key(model, node, [*entity, event_time], problems)

    if problems.errors:
        return None, problems.errors
    assert event_time is not None and online is not None and owner is not None and tags is not None
    assert freshness is not None
    return (
        FeatureGroup(
            name=model,
            unique_id=str(node.get("unique_id", model)),
            relation_name=str(node.get("relation_name") or ""),
            description=str(node.get("description") or "").strip(),
            entity=entity,
            event_time=event_time,
            online=online,
            ttl=ttl,
            ttl_text=str(ttl_text).strip().lower() if ttl is None else str(ttl_text).strip(),
            owner=owner,
            tags=tags,
            features=tuple(features),
            entity_types=tuple(str(columns[column].get("data_type") or "").strip().lower() for column in entity),
            freshness_warn_after=freshness[0],
            freshness_error_after=freshness[1],
        ),
        [],
    )
