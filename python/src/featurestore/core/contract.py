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

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from featurestore.core.errors import ContractError, UnknownFeatureError
from featurestore.core.identifiers import contract_name_problem, excerpt, shorten

_T = TypeVar("_T")

CONTRACT_KEY = "feature_group"
_ALLOWED_KEYS = frozenset(
    {"entity", "event_time", "online", "ttl", "owner", "tags", "freshness", "aggregations", "attributes"}
)
# Declarations of declarative groups (docs/feature_groups.md): dbt checks their contents when it compiles the
# model (macros/feature_group_spec.sql); here only their shape, so a typo'd key is still named.
_DECLARATION_KEYS = ("aggregations", "attributes")
_TTL_PATTERN = re.compile(r"^(?P<amount>[1-9][0-9]*)(?P<unit>[smhdw])$")
_TTL_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# `ttl: none`: the group's values never expire (an attribute such as a signup plan).
NO_TTL = "none"
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


def parse_group_ttl(text: object, *, model: str = "?") -> timedelta | None:
    """A group's `ttl`: a duration (parse_ttl), or `none` for values that never expire (None)."""
    if isinstance(text, str) and text.strip().lower() == NO_TTL:
        return None
    if text is None:
        raise ContractError(
            model, "ttl", "missing; write how long a value stays valid (e.g. ttl: 7d), or ttl: none if it never expires"
        )
    return parse_ttl(text, model=model)


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

    Raises ContractError naming the model and the field of the first problem (check_feature_group: all)."""
    group, problems = check_feature_group(node)
    if problems:
        raise problems[0]
    assert group is not None
    return group


class _Problems:
    """The problems of one model's contract, collected so that validate reports them all in one pass."""

    def __init__(self) -> None:
        self.errors: list[ContractError] = []

    def check(self, check: Callable[[], _T]) -> _T | None:
        """check()'s result, or None after recording the ContractError it raised."""
        try:
            return check()
        except ContractError as error:
            self.errors.append(error)
            return None

    def add(self, model: str, field: str, problem: str) -> None:
        self.errors.append(ContractError(model, field, problem))


def _entity(
    model: str, contract: Mapping[str, Any], columns: Mapping[str, Any], problems: _Problems
) -> tuple[str, ...]:
    if "entity" not in contract:
        problems.add(model, "entity", "missing; list the entity key column(s), e.g. entity: [user_id]")
        return ()
    entity = problems.check(lambda: _string_list(model, "entity", contract["entity"]))
    if entity is None:
        return ()
    if not entity:
        problems.add(model, "entity", "must name at least one column")
    for column in entity:
        problems.check(partial(_require_column, model, "entity", column, columns))
    return entity


def _event_time(model: str, contract: Mapping[str, Any], columns: Mapping[str, Any], entity: tuple[str, ...]) -> str:
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
    return event_time


def _owner(model: str, contract: Mapping[str, Any]) -> str:
    owner = contract.get("owner")
    if not isinstance(owner, str) or not owner.strip():
        raise ContractError(
            model, "owner", f"must name the owning team or person (e.g. owner: recsys-team), got {owner!r}"
        )
    return owner.strip()


def _online(model: str, contract: Mapping[str, Any]) -> bool:
    online = contract.get("online", None)
    if not isinstance(online, bool):
        raise ContractError(model, "online", f"must be true or false, got {online!r}")
    return online


def _check_unique_key(model: str, node: Mapping[str, Any], keys: list[str], problems: _Problems) -> None:
    """A hand-written incremental group merges on entity + event time: without that unique key every run
    appends its recomputed rows again (duplicate history). Declarative groups set it themselves."""
    config = node.get("config") or {}
    if config.get("materialized") != "incremental":
        return
    unique_key = config.get("unique_key")
    declared = [unique_key] if isinstance(unique_key, str) else list(unique_key or [])
    fix = f"set unique_key=[{', '.join(repr(key) for key in keys)}] in the model's config()"
    if not declared:
        problems.add(model, "unique_key", f"missing: an incremental group without it appends duplicate rows; {fix}")
    elif sorted(str(key).strip().lower() for key in declared) != sorted(keys):
        problems.add(model, "unique_key", f"is {declared}, not the entity + event time; {fix}")


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
    problems = _Problems()

    for key in sorted(str(key) for key in contract if key not in _ALLOWED_KEYS):
        problems.add(model, shorten(key), f"unknown key; allowed keys are {', '.join(sorted(_ALLOWED_KEYS))}")

    columns: Mapping[str, Any] = node.get("columns") or {}
    declarative = [key for key in _DECLARATION_KEYS if key in contract]
    for key in declarative:
        if not isinstance(contract[key], Mapping):
            problems.add(model, key, f"must be a mapping (see docs/feature_groups.md), got {contract[key]!r}")
        else:
            problems.check(partial(_check_declaration_names, model, key, contract[key]))
    if len(declarative) == len(_DECLARATION_KEYS):
        problems.add(model, "attributes", "declare either aggregations or attributes, not both")

    entity = _entity(model, contract, columns, problems)
    event_time = problems.check(lambda: _event_time(model, contract, columns, entity))
    online = problems.check(lambda: _online(model, contract))
    ttl_text = contract.get("ttl")
    ttl = problems.check(lambda: parse_group_ttl(ttl_text, model=model))
    owner = problems.check(lambda: _owner(model, contract))
    tags = problems.check(lambda: _string_list(model, "tags", contract.get("tags", [])))
    freshness = problems.check(lambda: _freshness(model, contract.get("freshness")))

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
        _check_unique_key(model, node, [*entity, event_time], problems)

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
