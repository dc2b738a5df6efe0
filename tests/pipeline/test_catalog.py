"""The feature catalog on the real project (generated data, DuckDB): `featurestore list`, `describe`, `search`
and `catalog --out`, checked against the offline store and the manifest; then the static site in a real
headless Chromium (from the OS packages, installed by `make setup`): it loads offline, its search filters,
every group's page renders its features, and screenshots are not blank."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from support.local_project import LocalProject, make_local_project

from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.demo import DemoDataConfig, generate_demo_data

pytestmark = [pytest.mark.dbt, pytest.mark.slow]

AS_OF = dt.datetime(2026, 10, 3, 20, 0)
GROUPS = (
    "article_attributes",
    "article_popularity",
    "article_reactions",
    "user_category_affinity",
    "user_engagement",
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProject]:
    project = make_local_project(tmp_path_factory.mktemp("catalog_project"))
    generate_demo_data(DemoDataConfig(users=120, days=3, seed=8), project.root / "raw")
    # The groups only: who uses them (training sets, exposures) comes from the manifest, built or not.
    result = project.dbt("run", "--select", "+path:models/feature_groups")
    assert result.returncode == 0, result.stdout[-4000:]
    synced = project.featurestore("sync", "--now", AS_OF.isoformat())
    assert synced.returncode == 0, synced.stderr
    docs = project.dbt("docs", "generate", "--static", "--no-compile", "--empty-catalog")
    assert docs.returncode == 0, docs.stdout[-4000:]
    yield project


@pytest.fixture(scope="module")
def site(project: LocalProject) -> Path:
    out = project.root / "site"
    result = project.featurestore("catalog", "--out", str(out), "--now", AS_OF.isoformat())
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_list_shows_owner_tags_freshness_and_usage(project: LocalProject) -> None:
    listed = project.featurestore("list", "--now", AS_OF.isoformat())
    assert listed.returncode == 0, listed.stderr
    rows = {}
    for line in listed.stdout.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells and cells[0] in GROUPS:
            rows[cells[0]] = cells
    assert sorted(rows) == list(GROUPS)
    # group, entity, event time, online, ttl, features, owner, tags, lag, used by
    engagement = rows["user_engagement"]
    assert engagement[1:8] == ["user_id", "effective_at", "yes", "7d", "13", "recsys-team", "user, engagement"]
    assert engagement[8].endswith("ok")
    assert int(engagement[9]) == 2  # the training set and the exposure downstream of it


def test_describe_reports_statistics_of_the_last_day_of_rows(project: LocalProject) -> None:
    described = project.featurestore("describe", "user_engagement", "--now", AS_OF.isoformat())
    assert described.returncode == 0, described.stderr
    out = described.stdout
    group = FeatureGroupCatalog.from_manifest_path(project.manifest_path()).get("user_engagement")
    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        (newest,) = connection.sql(
            f"select max(effective_at) from {group.relation_name} where effective_at <= "
            f"timestamp '{AS_OF.isoformat(sep=' ')}'"
        ).fetchall()[0]
        rows, ctr_nulls, clicks_max = connection.sql(
            f"select count(*), count(*) - count(ctr_1h), max(clicks_24h) from {group.relation_name} "
            f"where effective_at > timestamp '{newest - dt.timedelta(days=1)}' "
            f"and effective_at <= timestamp '{newest}'"
        ).fetchall()[0]
    cells = {}
    for line in out.splitlines():
        parts = [cell.strip() for cell in line.split("│")[1:-1]]
        if parts and parts[0] in group.feature_names:
            cells[parts[0]] = parts
    assert sorted(cells) == sorted(group.feature_names)
    # feature, type, description, rows, null, min, max, mean
    assert cells["ctr_1h"][1] == "double"
    assert cells["ctr_1h"][3] == f"{rows:,}"
    assert cells["ctr_1h"][4] == f"{ctr_nulls / rows:.1%}"
    assert cells["clicks_24h"][6] == f"{clicks_max:,}"
    text = _one_line(out)
    assert "owner recsys-team" in text and "tags user, engagement" in text and "ttl 7d" in text
    assert "main_features.user_engagement__current" in text
    assert "impression_click_training_set (training set)" in text
    assert "Feed click-through model (ml, owner recsys-team)" in text
    assert "online: synced as of 2026-10-03 20:00" in text


def test_search_finds_groups_by_feature_words(project: LocalProject) -> None:
    found = project.featurestore("search", "dwell")
    assert found.returncode == 0, found.stderr
    assert "user_engagement" in found.stdout and "avg_dwell_seconds_1h" in found.stdout
    assert "article_popularity" not in found.stdout
    by_owner = project.featurestore("search", "recsys-team")
    assert by_owner.returncode == 0 and "user_engagement" in by_owner.stdout and "owner" in by_owner.stdout
    nothing = project.featurestore("search", "no such feature anywhere")
    assert nothing.returncode == 1 and "no feature group or feature matches" in nothing.stdout


def test_site_has_an_index_and_a_page_per_group_without_external_resources(project: LocalProject, site: Path) -> None:
    groups = FeatureGroupCatalog.from_manifest_path(project.manifest_path())
    assert sorted(path.stem for path in (site / "groups").glob("*.html")) == sorted(groups.names())
    assert (site / "dbt-docs" / "index.html").is_file()
    for page in [site / "index.html", *(site / "groups").glob("*.html")]:
        html = page.read_text()
        # Nothing from a server or CDN: every src/href is relative (or an in-page anchor).
        links = re.findall(r'(?:src|href)="([^"]*)"', html)
        assert links and all(not re.match(r"^[a-z]+:", link) and not link.startswith("//") for link in links), page
        for link in links:
            target = (page.parent / link.split("#")[0].split("?")[0]).resolve()
            assert target.exists(), f"{page.name}: broken link {link}"
    for group in groups:
        html = (site / "groups" / f"{group.name}.html").read_text()
        for feature in group.features:
            assert f'data-feature="{feature.name}"' in html
        assert f"dbt-docs/index.html#!/model/{group.unique_id}?g_v=1" in html


# --- the site in a real browser -------------------------------------------------------------------------------


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    if shutil.which("apt-get"):
        pytest.fail("Chromium is not installed; run `make setup` (it installs the Debian package chromium)")
    pytest.skip("no Chromium and no apt-get on this OS to install it from; the catalog's browser test needs one")


def _browse(site: Path, page: str, tmp_path: Path, *, screenshot: Path | None = None) -> str:
    """Open `page` (relative to the site, with an optional ?query) in headless Chromium with every network
    request made to fail (offline), after its scripts ran; the DOM as the browser left it."""
    url = (site / page.split("?")[0]).as_uri() + (("?" + page.split("?", 1)[1]) if "?" in page else "")
    args = [
        _chromium(),
        "--headless",
        "--disable-gpu",
        "--no-sandbox",  # tests run as root in CI
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--proxy-server=http://127.0.0.1:9",  # nothing listens there: any http(s) fetch fails
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--virtual-time-budget=3000",
        "--window-size=1280,1400",
    ]
    args += [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    result = subprocess.run(
        [*args, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _cards(dom: str) -> dict[str, bool]:
    """Index cards: group -> visible (not hidden by the search)."""
    return {
        match["group"]: "hidden" not in match["classes"].split()
        for match in re.finditer(r'<section class="(?P<classes>[^"]*)" id="group-(?P<group>[^"]+)"', dom)
    }


def test_index_loads_offline_and_its_search_filters(site: Path, tmp_path: Path) -> None:
    dom = _browse(site, "index.html", tmp_path)
    assert 'data-ready="true"' in dom, "the search script did not run"
    assert _cards(dom) == dict.fromkeys(GROUPS, True)
    assert "5 of 5 feature groups" in dom

    filtered = _browse(site, "index.html?q=dwell", tmp_path)
    # user_engagement's dwell average and article_reactions' min/max dwell.
    assert [name for name, shown in _cards(filtered).items() if shown] == ["article_reactions", "user_engagement"]
    assert "2 of 5 feature groups match" in filtered
    # Within the shown group, the matching features are marked.
    assert re.search(r'<code data-feature="avg_dwell_seconds_1h[^"]*"[^>]*class="matched"', filtered) or re.search(
        r'class="matched"[^>]*data-feature="avg_dwell_seconds_1h', filtered
    )

    by_words = _browse(site, "index.html?q=share%2030d", tmp_path)
    assert [name for name, shown in _cards(by_words).items() if shown] == ["user_category_affinity"]


def test_every_group_page_renders_its_features(project: LocalProject, site: Path, tmp_path: Path) -> None:
    for group in FeatureGroupCatalog.from_manifest_path(project.manifest_path()):
        dom = _browse(site, f"groups/{group.name}.html", tmp_path)
        rendered = re.findall(r'<tr data-feature="([^"]+)"><td><code>([^<]+)</code>', dom)
        assert [name for name, _ in rendered] == list(group.feature_names), group.name
        assert f'<h2 id="name">{group.name}' in dom


def _png(path: Path) -> tuple[int, int, int]:
    """(width, height, distinct byte values of the decoded scanlines) of a PNG file."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    position, idat = 8, b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        if kind == b"IDAT":
            idat += data[position + 8 : position + 8 + length]
        position += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


def test_screenshots_show_the_catalog(site: Path, tmp_path: Path) -> None:
    """Screenshots of the index (all groups, then filtered) and a group page: the right size, not blank, and the
    filtered index differs from the full one. Kept under the test's tmp dir for a look."""
    shots = {
        "index.png": "index.html",
        "index-filtered.png": "index.html?q=dwell",
        "group.png": "groups/user_engagement.html",
    }
    for name, page in shots.items():
        _browse(site, page, tmp_path, screenshot=tmp_path / name)
        width, height, distinct = _png(tmp_path / name)
        assert (width, height) == (1280, 1400), name
        assert distinct > 20, f"{name} looks blank ({distinct} distinct byte values)"
    assert (tmp_path / "index.png").read_bytes() != (tmp_path / "index-filtered.png").read_bytes()
    if target := os.environ.get("FEATURESTORE_SCREENSHOT_DIR"):
        for name in shots:
            shutil.copy(tmp_path / name, Path(target) / name)
