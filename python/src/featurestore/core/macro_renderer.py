"""Rendering the project's point-in-time macros with Jinja alone, from the last parse's manifest.json.

Starting dbt in a new process costs seconds before it compiles anything (importing it, then loading the
parsed project: 5-25 s on a busy machine), which a notebook or `featurestore training-set` pays on its first
training set. The point-in-time macros only need a small part of dbt's context: the project's macros (read
from macros/ at each render, so always current), the graph's nodes (contracts, columns and relation names,
from target/manifest.json), `ref`, `adapter.dispatch`, `return`, `exceptions.raise_compiler_error` and
`modules`. This module provides exactly that, in dbt's own Jinja environment class (sandboxed, with the `do`
and `loopcontrols` extensions), and nothing else: anything the macros ask for beyond it (a query such as
`run_query`, a builtin dbt macro) raises `NotRenderable`, and the caller (dbt_compiler.DbtCompiler) falls back
to dbt itself. The manifest is used only while it is current: not older than dbt_project.yml, profiles.yml or
any file in the project's folders of models, seeds and tests, and parsed for the expected adapter.
tests/test_macro_renderer.py checks that both give the same SQL.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
import pytz  # type: ignore[import-untyped]

from featurestore.core.errors import DbtCompileError

# What dbt calls the node of a `dbt compile --inline` call; the macros name it in their errors.
INLINE_NODE_NAME = "inline_query"
# Under the project's target path, beside dbt_compiler's partial-parse state.
CACHE_FOLDER = Path("target") / "featurestore_dbt" / "jinja"


class NotRenderable(Exception):
    """This render needs more of dbt than this module offers, or the manifest is not current."""


class _MacroReturn(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


def _return(value: Any) -> None:
    raise _MacroReturn(value)


class _CompilerError(Exception):
    pass


class _Exceptions:
    @staticmethod
    def raise_compiler_error(message: str) -> None:
        raise _CompilerError(str(message))


class _Relation:
    """What `ref()` gives the macros: renders as the node's relation name."""

    def __init__(self, node: Mapping[str, Any]) -> None:
        self.database = node.get("database")
        self.schema = node.get("schema")
        self.identifier = node.get("alias") or node.get("name")
        self._rendered = str(node["relation_name"])

    def __str__(self) -> str:
        return self._rendered

    __html__ = __str__  # jinja's escape hooks, unused in dbt's unescaped environment, keep it a plain string


class _Namespace(dict[str, Callable[..., Any]]):
    """The project's macros by name (`featurestore.<macro>`), each file compiled on first use: a training set
    needs a dozen of the project's macros, and compiling Jinja is what costs time here."""

    def __init__(self, files: Mapping[str, str], load: Callable[[str], Mapping[str, Callable[..., Any]]]) -> None:
        super().__init__()
        self._files = files  # macro name -> template name of the file defining it
        self._load = load

    def __missing__(self, name: str) -> Callable[..., Any]:
        if name not in self._files:
            raise KeyError(name)
        self.update(self._load(self._files[name]))
        return dict.__getitem__(self, name)

    def find(self, name: str) -> Callable[..., Any] | None:
        try:
            return self[name]
        except KeyError:
            return None


class _Adapter:
    def __init__(self, adapter_type: str, namespace: _Namespace) -> None:
        self.type = adapter_type
        self._namespace = namespace

    def dispatch(self, name: str, macro_namespace: str | None = None) -> Callable[..., Any]:
        for candidate in (f"{self.type}__{name}", f"default__{name}"):
            macro = self._namespace.find(candidate)
            if macro is not None:
                return macro
        raise NotRenderable(f"no implementation of {name} for {self.type} in the project's macros")

    def __getattr__(self, name: str) -> Any:  # get_relation, get_columns_in_relation, ...: need a connection
        raise NotRenderable(f"adapter.{name} needs a warehouse connection")


def _unavailable(name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        raise NotRenderable(f"{name}() is only available in dbt itself")

    return call


def _wrap(macro: Any) -> Callable[..., Any]:
    """A macro as dbt calls it: its `return()` value if it returns one, else its rendered text."""

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return macro(*args, **kwargs)
        except _MacroReturn as returned:
            return returned.value

    return call


@dataclass(frozen=True)
class MacroRenderer:
    """Renders Jinja SQL that calls the project's macros, as `dbt compile --inline` would, without dbt."""

    project_dir: Path
    manifest_path: Path
    adapter_type: str
    # Where profiles.yml is (its changes can change relation names); None: not checked.
    profiles_dir: Path | None = None
    # Where compiled macros are kept between processes (e.g. target/featurestore_dbt/jinja); None: nowhere.
    cache_dir: Path | None = None

    def _manifest(self) -> dict[str, Any]:
        try:
            parsed_at = self.manifest_path.stat().st_mtime
            manifest: dict[str, Any] = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise NotRenderable(f"no readable manifest at {self.manifest_path}: {error}") from None
        metadata = manifest.get("metadata") or {}
        if metadata.get("adapter_type") != self.adapter_type:
            raise NotRenderable(f"the manifest was parsed for {metadata.get('adapter_type')}, not {self.adapter_type}")
        if not isinstance(metadata.get("project_name"), str):
            raise NotRenderable("the manifest names no project")
        newer = [path for path in self._inputs(manifest) if path.stat().st_mtime > parsed_at]
        if newer:
            raise NotRenderable(f"{newer[0]} changed after the last parse")
        return manifest

    def _inputs(self, manifest: Mapping[str, Any]) -> Iterable[Path]:
        """What the graph is parsed from: dbt_project.yml, profiles.yml and every file in the project's folders
        of models, seeds, tests... (the top folders of its nodes' files). Macros are not among them: they are
        read at each render, and one the manifest does not list is not rendered here (dbt compiles instead)."""
        yield self.project_dir / "dbt_project.yml"
        if self.profiles_dir is not None and (self.profiles_dir / "profiles.yml").is_file():
            yield self.profiles_dir / "profiles.yml"
        for folder in sorted({Path(path).parts[0] for path in _project_files(manifest).values()}):
            yield from (
                path
                for path in (self.project_dir / folder).rglob("*")
                if path.suffix.lower() in _DBT_SUFFIXES and path.is_file()
            )

    def render(self, sql: str) -> str:
        """The rendered SQL; DbtCompileError for an error the macros raise (a wrong call), NotRenderable when
        dbt itself is needed."""
        manifest = self._manifest()
        nodes = manifest.get("nodes", {})
        models = {node["name"]: node for node in nodes.values() if node.get("resource_type") == "model"}
        environment = jinja2.sandbox.SandboxedEnvironment(
            extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"],
            loader=jinja2.FileSystemLoader(self.project_dir),
            # Compiled macros are kept by the hash of their source: a new process does not compile them again.
            bytecode_cache=_bytecode_cache(self.cache_dir) if self.cache_dir else None,
        )

        def load(template_name: str) -> dict[str, Callable[..., Any]]:
            module = environment.get_template(template_name, globals=context).make_module()
            return {
                name: _wrap(getattr(module, name))
                for name in dir(module)
                if isinstance(getattr(module, name), jinja2.runtime.Macro)
            }

        macros = {
            macro["name"]: macro["original_file_path"]
            for macro in manifest.get("macros", {}).values()
            if macro.get("package_name") == manifest["metadata"]["project_name"]
        }
        namespace = _Namespace(macros, load)
        adapter = _Adapter(self.adapter_type, namespace)

        def ref(*names: str, **kwargs: Any) -> _Relation:
            if kwargs or len(names) != 1 or names[0] not in models:
                raise NotRenderable(f"ref{names} is not a model of this project's manifest")
            return _Relation(models[names[0]])

        context: dict[str, Any] = {
            "execute": True,
            "model": {"name": INLINE_NODE_NAME},
            "graph": {"nodes": nodes, "sources": manifest.get("sources", {})},
            "ref": ref,
            "adapter": adapter,
            "return": _return,
            "exceptions": _Exceptions(),
            "modules": _MODULES,
            "tojson": json.dumps,
            # dbt's local_md5: the hex MD5 of the UTF-8 text (dbt.clients... utils.md5), for fingerprints.
            "local_md5": lambda text: hashlib.md5(str(text).encode("utf-8")).hexdigest(),
            manifest["metadata"]["project_name"]: namespace,
        }
        for name in ("run_query", "source", "var", "env_var", "config", "log", "statement", "load_result"):
            context[name] = _unavailable(name)
        try:
            return environment.from_string(sql, globals=context).render()
        except _CompilerError as error:
            raise DbtCompileError(f"compiling in {self.project_dir} failed: {error}") from None
        except NotRenderable:
            raise
        except (jinja2.TemplateError, TypeError, AttributeError, KeyError, ValueError) as error:
            raise NotRenderable(f"{type(error).__name__}: {error}") from error


_ITERTOOLS = (
    "count", "cycle", "repeat", "accumulate", "chain", "compress", "islice", "starmap", "tee", "zip_longest",
    "product", "permutations", "combinations", "combinations_with_replacement",
)  # fmt: skip
# What dbt's context offers as `modules` (dbt.context.base.get_context_modules): only these names, so that a
# macro that works here works in dbt.
_MODULES = {
    "pytz": {name: getattr(pytz, name) for name in pytz.__all__},
    "datetime": {name: getattr(datetime, name) for name in ("date", "datetime", "time", "timedelta", "tzinfo")},
    "re": {name: getattr(re, name) for name in re.__all__},
    "itertools": {name: getattr(itertools, name) for name in _ITERTOOLS},
}


# The files that define the graph in those folders (a contract is YAML; a Python test beside them is not).
_DBT_SUFFIXES = frozenset({".sql", ".yml", ".yaml", ".csv", ".md"})


def _project_files(manifest: Mapping[str, Any]) -> dict[str, str]:
    """unique_id -> the project-relative file of each node and source of the manifest's own project."""
    project = manifest["metadata"]["project_name"]
    return {
        unique_id: item["original_file_path"]
        for section in ("nodes", "sources")
        for unique_id, item in (manifest.get(section) or {}).items()
        if item.get("package_name") == project and item.get("original_file_path")
    }


def _bytecode_cache(folder: Path) -> jinja2.BytecodeCache | None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only checkout: compile every time
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))
