"""The checks of a contract's fields, each raising ContractError naming the model, the field and the fix
(core/contract.py puts them together; `_Problems` collects them, so validate reports every problem of a
model at once)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from featurestore.core.errors import ContractError
from featurestore.core.identifiers import contract_name_problem, excerpt

_T = TypeVar("_T")
_TTL_PATTERN = re.compile(r"^(?P<amount>[1-9][0-9]*)(?P<unit>[smhdw])$")
_TTL_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# `ttl: none`: the group's values never expire (an attribute such as a signup plan).
NO_TTL = "none"
TIMESTAMP_TYPES = ("timestamp", "timestamp(3)", "timestamp(6)", "datetime")


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


def freshness_of(model: str, value: object) -> tuple[timedelta | None, timedelta | None]:
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


def string_list(model: str, field: str, value: object) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) and item for item in items):
        raise ContractError(model, field, f"must be a column name or a list of names, got {excerpt(value)}")
    return tuple(items)


def require_identifier(model: str, field: str, name: object) -> None:
    if problem := contract_name_problem(name):
        raise ContractError(model, field, problem)


def check_declaration_names(model: str, key: str, declaration: Mapping[str, Any]) -> None:
    """Every name a declaration puts into generated SQL (columns read, features written) is a plain identifier."""
    for field in ("timestamp", "anchor", "valid_from"):
        if field in declaration:
            require_identifier(model, f"{key}.{field}", declaration[field])
    if key == "attributes":
        for index, column in enumerate(string_list(model, f"{key}.columns", declaration.get("columns", []))):
            require_identifier(model, f"{key}.columns[{index}]", column)
    for section in ("features", "derived"):
        entries = declaration.get(section) or []
        if not isinstance(entries, list):
            raise ContractError(model, f"{key}.{section}", f"must be a list, got {excerpt(entries)}")
        for index, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                raise ContractError(model, f"{key}.{section}[{index}]", f"must be a mapping, got {excerpt(entry)}")
            for field in ("name", "column"):
                if field in entry:
                    require_identifier(model, f"{key}.{section}[{index}].{field}", entry[field])


def require_column(model: str, field: str, column: str, columns: Mapping[str, Any]) -> None:
    require_identifier(model, field, column)
    if column not in columns:
        declared = ", ".join(columns) or "none"
        raise ContractError(
            model,
            field,
            f"unknown column '{column}'; declare it under the model's `columns:` (declared: {declared})",
        )


class Problems:
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


def entity_of(
    model: str, contract: Mapping[str, Any], columns: Mapping[str, Any], problems: Problems
) -> tuple[str, ...]:
    if "entity" not in contract:
        problems.add(model, "entity", "missing; list the entity key column(s), e.g. entity: [user_id]")
        return ()
    entity = problems.check(lambda: string_list(model, "entity", contract["entity"]))
    if entity is None:
        return ()
    if not entity:
        problems.add(model, "entity", "must name at least one column")
    for column in entity:
        problems.check(partial(require_column, model, "entity", column, columns))
    return entity


def event_time_of(model: str, contract: Mapping[str, Any], columns: Mapping[str, Any], entity: tuple[str, ...]) -> str:
    event_time = contract.get("event_time")
    if event_time is None:
        raise ContractError(model, "event_time", "missing; name the timestamp column, e.g. event_time: effective_at")
    if not isinstance(event_time, str):
        raise ContractError(model, "event_time", f"must be a column name, got {event_time!r}")
    require_column(model, "event_time", event_time, columns)
    event_time_type = str(columns[event_time].get("data_type") or "").lower()
    if event_time_type not in TIMESTAMP_TYPES:
        raise ContractError(
            model,
            "event_time",
            f"column '{event_time}' must have data_type: timestamp, got {event_time_type!r}",
        )
    if event_time in entity:
        raise ContractError(model, "event_time", f"column '{event_time}' is also an entity column")
    return event_time


def owner_of(model: str, contract: Mapping[str, Any]) -> str:
    owner = contract.get("owner")
    if not isinstance(owner, str) or not owner.strip():
        raise ContractError(
            model, "owner", f"must name the owning team or person (e.g. owner: recsys-team), got {owner!r}"
        )
    return owner.strip()


def online_of(model: str, contract: Mapping[str, Any]) -> bool:
    online = contract.get("online", None)
    if not isinstance(online, bool):
        raise ContractError(model, "online", f"must be true or false, got {online!r}")
    return online


def check_unique_key(model: str, node: Mapping[str, Any], keys: list[str], problems: Problems) -> None:
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
