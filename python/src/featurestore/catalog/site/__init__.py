"""`featurestore catalog --out DIR`: the feature catalog as a static site. One page per feature group and an
index with a search box; plain HTML, one stylesheet and one script, every link relative and nothing fetched
at run time, so it opens from the file system, offline, or from an S3 bucket (or any static host).

With dbt's single-file docs (`dbt docs generate --static` writes target/static_index.html), the site copies it
to `dbt-docs/index.html` and links each group to its model and lineage graph there."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from featurestore.catalog.entries import CatalogEntry, Usage
from featurestore.catalog.freshness import format_duration

HERE = Path(__file__).parent
DBT_DOCS_PAGE = "dbt-docs/index.html"


@dataclass(frozen=True)
class FeatureRow:
    name: str
    data_type: str
    description: str
    rows: str
    null_share: str
    minimum: str
    maximum: str
    mean: str


@dataclass(frozen=True)
class PageEntry:
    """What the templates show of a catalog entry, formatted."""

    group: Any
    usages: tuple[Usage, ...]
    views: tuple[str, ...]
    table: str
    level: str
    level_label: str
    level_title: str
    freshness_lines: tuple[str, ...]
    feature_rows: tuple[FeatureRow, ...]
    stats_from: str
    stats_rows: str
    search_text: str


def format_value(value: object) -> str:
    if value is None:
        return "∅"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    return str(value)


def freshness_lines(entry: CatalogEntry) -> tuple[str, ...]:
    status = entry.status
    if status is None:
        return ("not checked",)
    facts = status.facts
    lines = []
    if facts.newest_event_at is not None and status.lag is not None:
        lines.append(f"newest event time {format_value(facts.newest_event_at)} ({format_duration(status.lag)} behind)")
    if status.last_success_at is not None:
        lines.append(f"last successful dbt run {format_value(status.last_success_at)}")
    if facts.last_run_at is not None:
        lines.append(f"last run that changed rows {format_value(facts.last_run_at)}")
    limits = status.thresholds
    lines.append(
        f"warn after {format_duration(limits.warn_after)}, error after {format_duration(limits.error_after)} "
        f"({limits.source})"
    )
    if status.online is not None:
        synced = status.last_sync_at
        lines.append(
            "online: "
            + (f"synced as of {format_value(synced)}" if synced else "never synced")
            + (
                f", {'' if status.online.items.exact else '~'}{status.online.items.items:,} items"
                if status.online.items is not None
                else ""
            )
        )
    lines.extend(status.problems)
    return tuple(lines)


def page_entry(entry: CatalogEntry) -> PageEntry:
    group = entry.group
    rows = []
    for feature in group.features:
        stats = entry.stats(feature.name)
        rows.append(
            FeatureRow(
                name=feature.name,
                data_type=feature.data_type,
                description=feature.description,
                rows=format_value(stats.rows) if stats else "-",
                null_share=f"{stats.null_share:.1%}" if stats and stats.null_share is not None else "-",
                minimum=format_value(stats.minimum) if stats else "-",
                maximum=format_value(stats.maximum) if stats else "-",
                mean=format_value(stats.mean) if stats else "-",
            )
        )
    level = entry.status.level.name if entry.status else "UNKNOWN"
    text = " ".join(
        [group.name, group.description, group.owner, *group.tags, *group.entity]
        + [f"{feature.name} {feature.description}" for feature in group.features]
    )
    facts = entry.status.facts if entry.status else None
    return PageEntry(
        group=group,
        usages=entry.usages,
        views=entry.views,
        table=group.relation_name.replace('"', ""),
        level=level,
        level_label={"OK": "fresh", "WARN": "late", "ERROR": "stale", "UNKNOWN": "unchecked"}[level],
        level_title="; ".join(entry.status.problems) if entry.status else "",
        freshness_lines=freshness_lines(entry),
        feature_rows=tuple(rows),
        stats_from=format_value(facts.stats_from) if facts and facts.stats_from else "",
        stats_rows=format_value(facts.stats_rows) if facts else "",
        search_text=text.lower(),
    )


def write_site(
    entries: Sequence[CatalogEntry],
    out_dir: Path,
    *,
    now: dt.datetime,
    dbt_docs: Path | None = None,
    generated_at: dt.datetime | None = None,
) -> list[Path]:
    """Write the site into `out_dir` (created; earlier pages of groups that no longer exist are removed);
    returns the pages written. `dbt_docs`: dbt's static docs page to copy and link to."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    pages = [page_entry(entry) for entry in entries]
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out_dir / "groups", ignore_errors=True)
    (out_dir / "groups").mkdir()
    shutil.copytree(HERE / "assets", out_dir / "assets", dirs_exist_ok=True)
    docs_link = None
    if dbt_docs is not None:
        (out_dir / "dbt-docs").mkdir(exist_ok=True)
        shutil.copy(dbt_docs, out_dir / DBT_DOCS_PAGE)
        docs_link = DBT_DOCS_PAGE
    common = {
        "entries": pages,
        "now": format_value(now),
        "generated_at": format_value((generated_at or dt.datetime.now(dt.UTC)).replace(tzinfo=None)),
        "dbt_docs": docs_link,
    }
    written = [out_dir / "index.html"]
    written[0].write_text(environment.get_template("index.html.j2").render(root="", **common), encoding="utf-8")
    for page in pages:
        path = out_dir / "groups" / f"{page.group.name}.html"
        path.write_text(
            environment.get_template("group.html.j2").render(root="../", entry=page, **common), encoding="utf-8"
        )
        written.append(path)
    return written
