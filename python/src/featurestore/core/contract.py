"""The feature-group contract: what a dbt model declares under `config.meta.feature_group`.

A model is a feature group when its `config.meta` holds a `feature_group` mapping::

    config:
      meta:
        feature_group:
          entity: [user_id]          # entity key column(s), declared under `columns:`
          event_time: effective_at   # the timestamp from which a row's values hold
          online: true               # push the latest row per entity to the online store
          ttl: 7d                    # a value older than this is treated as missing
          owner: recsys-team
          tags: [user, engagement]   # optional
          freshness:                 # optional; defaults from the group's grain (featurestore.catalog.freshness)
            warn_after: 1h           #   lag of the newest event time behind now that warns
            error_after: 6h          #   ... and that is an error
          aggregations: {...}        # optional: a declarative group (docs/feature_groups.md), or
          attributes: {...}          # optional: a declarative attribute group

Every declared column that is not an entity key, the event time or a bookkeeping column
(`computed_at`: when the row was last recomputed) is a feature, and needs a `data_type` and a
`description`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from featurestore.core.errors import ContractError, UnknownFeatureError
from featurestore.core.identifiers import contract_name_problem, excerpt, shorten

CONTRACT_KEY = "feature_group"
_ALLOWED_KEYS = frozenset(
    {"entity", "event_time", "online", "ttl", "owner", "tags", "freshness", "aggregations", "attributes"}
)
# Declarations of declarative groups (docs/feature_groups.md): dbt checks their contents when it compiles the
# model (macros/feature_group_spec.sql); here only their shape, so a typo'd key is still named.
_DECLARATION_KEYS = ("aggregations", "attributes")
_TTL_PATTERN = re.compile(r"^(?P<amount>[1-9][0-9]*)(?P<unit>[smhdw])$")
_TTL_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
BOOKKEEPING_COLUMNS = frozenset({"computed_at"})
_TIMESTAMP_TYPES = ("timestamp", "timestamp(3)", "timestamp(6)", "datetime")


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
    ttl: timedelta
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

    def feature(self, name: str) -> Feature:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(name)


def parse_ttl(text: object, *, model: str = "?", field: str = "ttl") -> timedelta:
    """Parse a TTL (or another duration of the contract) such as `90s`, `30m`, `36h`, `7d` or `2w`."""
    if not isinstance(text, str) or not (match := _TTL_PATTERN.match(text.strip())):
        raise ContractError(
            model,
            field,
            f"{text!r} is not a duration; write a positive whole number and a unit (s, m, h, d or w), e.g. {field}: 7d",
        )
    unit = _TTL_UNITS[match["unit"]]
    return timedelta(**{unit: int(match["amount"])})


def _freshness(model: str, value: object) -> tuple[timedelta | None, timedelta | None]:
    if value is None:
        return None, None
    if not isinstance(value, Mapping) or not value or set(value) - {"warn_after", "error_after"}:
        raise ContractError(
            model, "freshness", f"must be a mapping of warn_after and/or error_after durations (e.g. 2h), got {value!r}"
        )
    warn = parse_ttl(value["warn_after"], model=model, field="freshness.warn_after") if "warn_after" in value else None
    error = (
        parse_ttl(value["error_after"], model=model, field="freshness.error_after") if "error_after" in value else None
    )
    if warn is not None and error is not None and error < warn:
        raise ContractError(model, "freshness", f"error_after ({value['error_after']}) is shorter than warn_after")
    return warn, error


def _string_list(model: str, field: str, value: object) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) and item for item in items):
        raise ContractError(model, field, f"must be a column name or a list of names, got {excerpt(value)}")
    return tuple(items)


def _require_identifier(model: str, field: str, name: object) -> None:
    if problem := contract_name_problem(name):
        raise ContractError(model, field, problem)


def _check_declaration_names(model: str, key: str, declaration: Mapping[str, Any]) -> None:
    """Every name a declaration puts into generated SQL (columns read, features written) is a plain identifier."""
    for field in ("timestamp", "anchor", "valid_from"):
        if field in declaration:
            _require_identifier(model, f"{key}.{field}", declaration[field])
    if key == "attributes":
        for index, column in enumerate(_string_list(model, f"{key}.columns", declaration.get("columns", []))):
            _require_identifier(model, f"{key}.columns[{index}]", column)
    for section in ("features", "derived"):
        entries = declaration.get(section) or []
        if not isinstance(entries, list):
            raise ContractError(model, f"{key}.{section}", f"must be a list, got {excerpt(entries)}")
        for index, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                raise ContractError(model, f"{key}.{section}[{index}]", f"must be a mapping, got {excerpt(entry)}")
            for field in ("name", "column"):
                if field in entry:
                    _require_identifier(model, f"{key}.{section}[{index}].{field}", entry[field])


def _require_column(model: str, field: str, column: str, columns: Mapping[str, Any]) -> None:
    _require_identifier(model, field, column)
    if column not in columns:
        declared = ", ".join(columns) or "none"
        raise ContractError(
            model,
            field,
            f"unknown column '{column}'; declare it under the model's `columns:` (declared: {declared})",
        )


def contract_of(node: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The raw contract of a manifest node, or None when the model is not a feature group."""
    config_meta = (node.get("config") or {}).get("meta") or {}
    meta = config_meta if CONTRACT_KEY in config_meta else node.get("meta") or {}
    return meta.get(CONTRACT_KEY)


def parse_feature_group(node: Mapping[str, Any]) -> FeatureGroup:
    """Validate one manifest model node carrying a contract and turn it into a FeatureGroup.

    Raises ContractError naming the model and the field at the first problem.
    """
    model = str(node.get("name", node.get("unique_id", "?")))
    if problem := contract_name_problem(model):
        # The group's name becomes an online table name and a prefix of training-set columns.
        raise ContractError(shorten(model), "", f"the model's name cannot name a feature group: {problem}")
    contract = contract_of(node)
    if not isinstance(contract, Mapping):
        raise ContractError(model, "", f"must be a mapping of entity, event_time, ..., got {contract!r}")

    unknown = sorted(str(key) for key in contract if key not in _ALLOWED_KEYS)
    if unknown:
        raise ContractError(
            model, shorten(unknown[0]), f"unknown key; allowed keys are {', '.join(sorted(_ALLOWED_KEYS))}"
        )

    columns: Mapping[str, Any] = node.get("columns") or {}
    for key in _DECLARATION_KEYS:
        if key in contract and not isinstance(contract[key], Mapping):
            raise ContractError(model, key, f"must be a mapping (see docs/feature_groups.md), got {contract[key]!r}")
    if all(key in contract for key in _DECLARATION_KEYS):
        raise ContractError(model, "attributes", "declare either aggregations or attributes, not both")
    for key in _DECLARATION_KEYS:
        if key in contract:
            _check_declaration_names(model, key, contract[key])

    if "entity" not in contract:
        raise ContractError(model, "entity", "missing; list the entity key column(s), e.g. entity: [user_id]")
    entity = _string_list(model, "entity", contract["entity"])
    if not entity:
        raise ContractError(model, "entity", "must name at least one column")
    for column in entity:
        _require_column(model, "entity", column, columns)

    event_time = contract.get("event_time")
    if event_time is None:
        raise ContractError(model, "event_time", "missing; name the timestamp column, e.g. event_time: effective_at")
    if not isinstance(event_time, str):
        raise ContractError(model, "event_time", f"must be a column name, got {event_time!r}")
    _require_column(model, "event_time", event_time, columns)
    event_time_type = str(columns[event_time].get("data_type") or "").lower()
    if event_time_type not in _TIMESTAMP_TYPES:
        raise ContractError(
            model,
            "event_time",
            f"column '{event_time}' must have data_type: timestamp, got {event_time_type!r}",
        )
    if event_time in entity:
        raise ContractError(model, "event_time", f"column '{event_time}' is also an entity column")

    online = contract.get("online", None)
    if not isinstance(online, bool):
        raise ContractError(model, "online", f"must be true or false, got {online!r}")

    ttl_text = contract.get("ttl")
    ttl = parse_ttl(ttl_text, model=model)

    owner = contract.get("owner")
    if not isinstance(owner, str) or not owner.strip():
        raise ContractError(model, "owner", f"must name the owning team or person, got {owner!r}")

    tags = _string_list(model, "tags", contract.get("tags", []))
    freshness_warn_after, freshness_error_after = _freshness(model, contract.get("freshness"))

    features = []
    for name, column in columns.items():
        if name in entity or name == event_time or name in BOOKKEEPING_COLUMNS:
            continue
        _require_identifier(model, f"columns.{shorten(name)}", name)
        data_type = str(column.get("data_type") or "").strip()
        description = str(column.get("description") or "").strip()
        if not data_type:
            raise ContractError(model, f"columns.{name}", "feature column has no data_type")
        if not description:
            raise ContractError(model, f"columns.{name}", "feature column has no description")
        features.append(Feature(name=name, data_type=data_type.lower(), description=description))
    if not features:
        raise ContractError(model, "columns", "declares no feature columns besides the entity and event time")

    return FeatureGroup(
        name=model,
        unique_id=str(node.get("unique_id", model)),
        relation_name=str(node.get("relation_name") or ""),
        description=str(node.get("description") or "").strip(),
        entity=entity,
        event_time=event_time,
        online=online,
        ttl=ttl,
        ttl_text=str(ttl_text).strip(),
        owner=owner.strip(),
        tags=tags,
        features=tuple(features),
        entity_types=tuple(str(columns[column].get("data_type") or "").strip().lower() for column in entity),
        freshness_warn_after=freshness_warn_after,
        freshness_error_after=freshness_error_after,
    )
