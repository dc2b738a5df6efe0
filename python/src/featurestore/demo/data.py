"""Deterministic, seeded demo data: the raw tables of a small news service, written as Parquet.

Layout under ``out_dir`` (the four folders are replaced on every run; nothing else is touched)::

    articles/articles.parquet
    users/users.parquet
    impressions/dt=YYYY-MM-DD/part-0.parquet
    reactions/dt=YYYY-MM-DD/part-0.parquet

The event folders are hive partitions by *ingestion* date (``dt`` is the UTC date of ``ingested_at``
and is not stored inside the files), so late events land in a later folder than their event date and
the last few folders may lie after the generated period.

All timestamps are ``timestamp[us]`` without a timezone and mean UTC; the daily activity and
publishing cycles are also expressed in UTC hours.

The data is shaped like real traffic so that features computed on it look plausible: heavy-tailed
article popularity decaying with article age, a daily cycle, per-user category preferences driving
click-through, position bias, heterogeneous user activity, and a small amount of dirt (late, null-id,
duplicate and clock-skewed rows) that the dbt staging models are expected to handle.

Generation is vectorized per day and written day by day, so memory stays bounded by one day of
events plus the small tail of rows that will be ingested on later days. The same config always
produces the same tables: every random stream is derived from ``(seed, stream, day)`` rather than
from a shared generator, so the output does not depend on generation order.
"""

from __future__ import annotations

import datetime
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = [
    "ARTICLES_SCHEMA",
    "CATEGORIES",
    "IMPRESSIONS_SCHEMA",
    "PLANS",
    "REACTIONS_SCHEMA",
    "REACTION_KINDS",
    "SURFACES",
    "TABLES",
    "USERS_SCHEMA",
    "DemoDataConfig",
    "DemoDataSummary",
    "generate_demo_data",
]

# The category list is shared with a dbt seed CSV; keep the two in sync.
CATEGORIES: tuple[str, ...] = (
    "politics",
    "business",
    "technology",
    "science",
    "sports",
    "entertainment",
    "world",
    "lifestyle",
    "health",
    "opinion",
)
SURFACES: tuple[str, ...] = ("home_feed", "category_tab", "push", "search", "related")
PLANS: tuple[str, ...] = ("free", "premium", "trial")
REACTION_KINDS: tuple[str, ...] = ("click", "like", "comment", "share")
TABLES: tuple[str, ...] = ("articles", "users", "impressions", "reactions")

_TS = pa.timestamp("us")

# These schemas are a contract with the dbt sources: change them together.
ARTICLES_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("published_at", _TS),
        ("category", pa.string()),
        ("publisher", pa.string()),
        ("length_words", pa.int32()),
        ("is_premium", pa.bool_()),
        ("ingested_at", _TS),
    ]
)
USERS_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("signed_up_at", _TS),
        ("plan", pa.string()),
        ("ingested_at", _TS),
    ]
)
IMPRESSIONS_SCHEMA = pa.schema(
    [
        ("impression_id", pa.string()),
        ("user_id", pa.int64()),
        ("article_id", pa.int64()),
        ("shown_at", _TS),
        ("position", pa.int32()),
        ("surface", pa.string()),
        ("ingested_at", _TS),
    ]
)
REACTIONS_SCHEMA = pa.schema(
    [
        ("reaction_id", pa.string()),
        ("impression_id", pa.string()),
        ("user_id", pa.int64()),
        ("article_id", pa.int64()),
        ("reacted_at", _TS),
        ("kind", pa.string()),
        ("dwell_seconds", pa.float64()),
        ("ingested_at", _TS),
    ]
)

_SECOND = 1_000_000
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_EPOCH = datetime.date(1970, 1, 1)

# Reading-activity by UTC hour: quiet night, morning commute, lunch and a larger evening peak.
_ACTIVITY_BY_HOUR = np.array(
    [
        [0.8, 0.5, 0.35, 0.3, 0.35, 0.6, 1.5, 3.2, 4.2, 3.6, 2.8, 2.7],  # 00-11 UTC
        [3.6, 3.4, 2.6, 2.4, 2.6, 3.0, 3.8, 4.6, 5.0, 4.4, 3.0, 1.6],  # 12-23 UTC
    ]
).ravel()
_ACTIVITY_BY_HOUR /= _ACTIVITY_BY_HOUR.sum()
# Newsrooms publish mostly during working hours (UTC), with an early-morning burst.
_PUBLISHING_BY_HOUR = np.array(
    [
        [0.3, 0.2, 0.2, 0.2, 0.4, 1.2, 2.5, 3.0, 3.0, 2.8, 2.6, 2.4],  # 00-11 UTC
        [2.2, 2.4, 2.5, 2.3, 2.0, 1.7, 1.4, 1.1, 0.9, 0.7, 0.5, 0.4],  # 12-23 UTC
    ]
).ravel()
_PUBLISHING_BY_HOUR /= _PUBLISHING_BY_HOUR.sum()
# Monday..Sunday; weekends are a little quieter.
_ACTIVITY_BY_WEEKDAY = np.array([1.0, 1.0, 1.0, 1.0, 0.97, 0.85, 0.9])

_CATEGORY_SHARE = np.array([0.14, 0.10, 0.12, 0.06, 0.14, 0.12, 0.12, 0.08, 0.06, 0.06])
# Concentration of the per-user Dirichlet: low enough that most users clearly favour a few categories.
_PREFERENCE_CONCENTRATION = 5.0

_N_PUBLISHERS = 40
_BACKLOG_DAYS = 3  # articles published before `start`, so the first day already has content
_HALF_LIFE = 12 * _HOUR
# Beyond 7 days the decay weight is < 2**-14 of a fresh article: such articles are never shown.
_ARTICLE_WINDOW = 7 * _DAY

_SURFACE_SHARE = np.array([0.55, 0.15, 0.05, 0.08, 0.17])
_SURFACE_SESSION_LENGTH = np.array([8.0, 6.0, 1.0, 4.0, 4.0])  # mean impressions per session
_SURFACE_CTR_MULT = np.array([1.0, 1.15, 2.5, 1.8, 1.2])
_MAX_POSITION = 30
_HOME, _CATEGORY_TAB = 0, 1

_PLAN_SHARE = np.array([0.72, 0.18, 0.10])
_PLAN_ACTIVITY_MULT = np.array([1.0, 1.5, 1.2])
_FREE = 0

_BASE_CTR = 0.12
# Chance that a click is followed by a like / comment / share.
_ENGAGEMENT_PROB = {"like": 0.12, "comment": 0.025, "share": 0.035}

# Independent random streams; see the module docstring for why they are keyed rather than shared.
_STREAM_ARTICLES = 1
_STREAM_USERS = 2
_STREAM_EVENTS = 3
_STREAM_INGEST_IMPRESSIONS = 4
_STREAM_INGEST_REACTIONS = 5


@dataclass(frozen=True)
class DemoDataConfig:
    """Size, period and dirtiness of the generated data. Defaults build in a few seconds."""

    users: int = 2000
    days: int = 14
    start: datetime.date = datetime.date(2026, 10, 1)  # first day (UTC) of events
    seed: int = 42
    articles_per_day: int = 150
    impressions_per_user_day: float = 12.0  # mean; per-user activity is heterogeneous (lognormal)
    late_fraction: float = 0.02  # ingested hours..days after the event
    null_id_fraction: float = 0.003  # user_id or article_id null
    duplicate_fraction: float = 0.003  # exact duplicate rows (same row written twice)
    future_fraction: float = 0.001  # event timestamp later than ingested_at (client clock skew)

    def __post_init__(self) -> None:
        for name, minimum in (("users", 1), ("days", 1), ("articles_per_day", 1), ("seed", 0)):
            value = getattr(self, name)
            # bool is an int subclass; `users=True` is a bug, not a config.
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} must be an int, got {value!r}")
            if value < minimum:
                raise ValueError(f"{name} must be >= {minimum}, got {value}")
        # datetime is a date subclass; a time of day would silently shift every event.
        if not isinstance(self.start, datetime.date) or isinstance(self.start, datetime.datetime):
            raise ValueError(f"start must be a datetime.date, got {self.start!r}")
        rate = self.impressions_per_user_day
        if not _is_number(rate) or not math.isfinite(rate) or rate <= 0:
            raise ValueError(f"impressions_per_user_day must be a finite number > 0, got {rate!r}")
        for name in ("late_fraction", "null_id_fraction", "duplicate_fraction", "future_fraction"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value <= 0.5:
                raise ValueError(f"{name} must be a number in [0, 0.5], got {value!r}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class DemoDataSummary:
    """What `generate_demo_data` wrote."""

    out_dir: Path
    rows: dict[str, int]  # rows written per table, dirty and duplicate rows included
    files: int
    seconds: float


def generate_demo_data(
    config: DemoDataConfig,
    out_dir: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> DemoDataSummary:
    """Write the four raw tables under ``out_dir``, replacing any previous output of this function.

    ``progress(done_days, total_days)`` is called after each event day has been written.
    """
    began = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        _remove(out_dir / table)

    rows = dict.fromkeys(TABLES, 0)
    files = 0
    start_us = (config.start - _EPOCH).days * _DAY

    articles = _make_articles(config, start_us)
    users = _make_users(config, start_us)
    for name, table in (("articles", articles.table), ("users", users.table)):
        rows[name] += _write(table, out_dir / name / f"{name}.parquet")
        files += 1

    # Rows waiting for their ingestion day's folder, keyed by day index relative to `start`.
    pending: dict[str, dict[int, list[pa.Table]]] = {"impressions": {}, "reactions": {}}
    next_ids = {"impressions": 0, "reactions": 0}
    for day in range(config.days):
        _stage_day(config, day, start_us, articles, users, next_ids, pending)
        # Ingestion never precedes the true event time, so no later event day can add rows to
        # folders up to `day`; on the last day everything still pending is flushed.
        last = day == config.days - 1
        for name, by_day in pending.items():
            for ingest_day in sorted(by_day):
                if ingest_day > day and not last:
                    continue
                dt = config.start + datetime.timedelta(days=ingest_day)
                path = out_dir / name / f"dt={dt.isoformat()}" / "part-0.parquet"
                rows[name] += _write(_sorted_by_ingestion(by_day.pop(ingest_day)), path)
                files += 1
        if progress is not None:
            progress(day + 1, config.days)

    return DemoDataSummary(out_dir=out_dir, rows=rows, files=files, seconds=time.perf_counter() - began)


# --------------------------------------------------------------------------------------------------
# Static tables


@dataclass(frozen=True)
class _Articles:
    table: pa.Table
    # Clean articles only, sorted by publication time; the ids are 1..n in that order.
    published_us: np.ndarray
    category: np.ndarray
    is_premium: np.ndarray
    attractiveness: np.ndarray


@dataclass(frozen=True)
class _Users:
    table: pa.Table
    # Indexed by user id - 1.
    signed_up_us: np.ndarray
    plan: np.ndarray
    sessions_per_day: np.ndarray
    click_propensity: np.ndarray
    preference_cdf: np.ndarray  # (users, categories) cumulative preference, last column == 1
    preference: np.ndarray  # (users, categories)


def _rng(config: DemoDataConfig, stream: int, day: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([config.seed, stream, day]))


def _times_in_days(rng: np.random.Generator, day_starts_us: np.ndarray, hour_weights: np.ndarray) -> np.ndarray:
    hours = rng.choice(24, size=day_starts_us.size, p=hour_weights)
    return day_starts_us + hours * _HOUR + rng.integers(0, _HOUR, size=day_starts_us.size)


def _short_delay(rng: np.random.Generator, n: int) -> np.ndarray:
    # Normal pipeline latency: a few seconds, occasionally a couple of minutes.
    seconds = np.minimum(1.0 + rng.lognormal(math.log(6.0), 0.9, size=n), 150.0)
    return (seconds * _SECOND).astype(np.int64)


def _make_articles(config: DemoDataConfig, start_us: int) -> _Articles:
    rng = _rng(config, _STREAM_ARTICLES)
    n_days = config.days + _BACKLOG_DAYS
    n = n_days * config.articles_per_day
    day_starts = start_us + (np.repeat(np.arange(n_days), config.articles_per_day) - _BACKLOG_DAYS) * _DAY
    published = np.sort(_times_in_days(rng, day_starts, _PUBLISHING_BY_HOUR))
    category = rng.choice(len(CATEGORIES), size=n, p=_CATEGORY_SHARE)
    publisher_share = 1.0 / np.arange(1, _N_PUBLISHERS + 1) ** 1.1
    publisher = rng.choice(_N_PUBLISHERS, size=n, p=publisher_share / publisher_share.sum())
    length = np.clip(rng.lognormal(math.log(650.0), 0.55, size=n), 80, 6000).astype(np.int32)
    is_premium = rng.random(n) < 0.15
    # Heavy-tailed "how clickable/promoted is this story"; age decay is applied at impression time.
    attractiveness = rng.lognormal(0.0, 1.5, size=n)
    ingested = published + _short_delay(rng, n)

    publisher_names = tuple(f"publisher_{i + 1:03d}" for i in range(_N_PUBLISHERS))
    ids = np.arange(1, n + 1, dtype=np.int64)
    # Dirty catalog rows are extra copies with a null id, so every real id stays valid for events.
    dirty = np.sort(rng.choice(n, size=rng.binomial(n, config.null_id_fraction), replace=False))
    order = np.concatenate([np.arange(n), dirty])
    id_null = np.concatenate([np.zeros(n, dtype=bool), np.ones(dirty.size, dtype=bool)])
    table = pa.Table.from_arrays(
        [
            pa.array(ids[order], mask=id_null, type=pa.int64()),
            pa.array(published[order], type=_TS),
            _labels(CATEGORIES, category[order]),
            _labels(publisher_names, publisher[order]),
            pa.array(length[order], type=pa.int32()),
            pa.array(is_premium[order], type=pa.bool_()),
            pa.array(ingested[order], type=_TS),
        ],
        schema=ARTICLES_SCHEMA,
    )
    return _Articles(table, published, category, is_premium, attractiveness)


def _make_users(config: DemoDataConfig, start_us: int) -> _Users:
    rng = _rng(config, _STREAM_USERS)
    n = config.users
    period_us = config.days * _DAY
    # Most users signed up long before the period (exponential ages, up to ~3 years); a quarter
    # sign up during it, and those only start acting after their sign-up time.
    during = rng.random(n) < 0.25
    age_days = np.minimum(rng.exponential(240.0, size=n), 3 * 365.0) + 0.01
    before_us = start_us - (age_days * _DAY).astype(np.int64)
    during_us = start_us + rng.integers(0, period_us, size=n)
    signed_up = np.where(during, during_us, before_us)
    plan = rng.choice(len(PLANS), size=n, p=_PLAN_SHARE)
    ingested = signed_up + _short_delay(rng, n)

    activity = rng.lognormal(0.0, 1.0, size=n) * _PLAN_ACTIVITY_MULT[plan]
    activity *= config.impressions_per_user_day / activity.mean()
    mean_session_length = float(_SURFACE_SHARE @ _expected_session_length(_SURFACE_SESSION_LENGTH))
    sessions_per_day = activity / mean_session_length
    click_propensity = rng.lognormal(0.0, 0.5, size=n)
    click_propensity /= click_propensity.mean()
    preference = rng.dirichlet(_CATEGORY_SHARE * _PREFERENCE_CONCENTRATION, size=n)
    preference_cdf = np.cumsum(preference, axis=1)
    preference_cdf[:, -1] = 1.0

    ids = np.arange(1, n + 1, dtype=np.int64)
    dirty = np.sort(rng.choice(n, size=rng.binomial(n, config.null_id_fraction), replace=False))
    order = np.concatenate([np.arange(n), dirty])
    id_null = np.concatenate([np.zeros(n, dtype=bool), np.ones(dirty.size, dtype=bool)])
    table = pa.Table.from_arrays(
        [
            pa.array(ids[order], mask=id_null, type=pa.int64()),
            pa.array(signed_up[order], type=_TS),
            _labels(PLANS, plan[order]),
            pa.array(ingested[order], type=_TS),
        ],
        schema=USERS_SCHEMA,
    )
    return _Users(table, signed_up, plan, sessions_per_day, click_propensity, preference_cdf, preference)


def _expected_session_length(mean: np.ndarray) -> np.ndarray:
    # E[min(G, cap)] for G geometric on {1, 2, ...} with the given mean.
    q = 1.0 - 1.0 / mean
    return np.where(q > 0, (1.0 - q**_MAX_POSITION) / (1.0 - q), 1.0)


# --------------------------------------------------------------------------------------------------
# Events of one day


def _make_day(
    config: DemoDataConfig,
    day: int,
    start_us: int,
    articles: _Articles,
    users: _Users,
    first_impression: int,
    first_reaction: int,
) -> tuple[pa.Table, pa.Table]:
    """Impressions whose (true) session starts on `day`, and all reactions to them."""
    rng = _rng(config, _STREAM_EVENTS, day)
    day_start = start_us + day * _DAY
    day_end = day_start + _DAY

    # Sessions: per-user Poisson counts, times from the daily cycle, none before sign-up.
    weekday = (config.start + datetime.timedelta(days=day)).weekday()
    eligible = np.flatnonzero(users.signed_up_us < day_end)
    n_sessions = rng.poisson(users.sessions_per_day[eligible] * _ACTIVITY_BY_WEEKDAY[weekday])
    sess_user = np.repeat(eligible, n_sessions)
    sess_start = _times_in_days(rng, np.full(sess_user.size, day_start), _ACTIVITY_BY_HOUR)
    keep = sess_start >= users.signed_up_us[sess_user]
    sess_user, sess_start = sess_user[keep], sess_start[keep]
    n_sess = sess_user.size
    sess_surface = rng.choice(len(SURFACES), size=n_sess, p=_SURFACE_SHARE)
    sess_length = np.minimum(rng.geometric(1.0 / _SURFACE_SESSION_LENGTH[sess_surface]), _MAX_POSITION)
    sess_gap = rng.integers(2 * _SECOND, 9 * _SECOND, size=n_sess)  # scroll speed
    # A category tab shows one category, chosen by the user's taste.
    u = rng.random(n_sess)
    sess_category = (u[:, None] >= users.preference_cdf[sess_user]).sum(axis=1)
    sess_category = np.minimum(sess_category, len(CATEGORIES) - 1)

    # Impressions: one row per position of each session.
    sess_of = np.repeat(np.arange(n_sess), sess_length)
    offsets = np.cumsum(sess_length) - sess_length
    position = (np.arange(sess_of.size) - offsets[sess_of] + 1).astype(np.int32)
    shown = sess_start[sess_of] + (position - 1) * sess_gap[sess_of] + rng.integers(0, _SECOND, sess_of.size)
    order = np.argsort(shown, kind="stable")
    sess_of, position, shown = sess_of[order], position[order], shown[order]
    user = sess_user[sess_of]
    surface = sess_surface[sess_of]
    n_imp = shown.size

    article = _pick_articles(rng, articles, shown, day_start, surface, sess_category[sess_of])
    category = articles.category[article]

    # Click model: taste for the category x position bias x surface x user x paywall.
    taste = (len(CATEGORIES) * users.preference[user, category]) ** 0.6
    position_bias = 1.0 / (1.0 + 0.12 * (position - 1))
    paywalled = articles.is_premium[article] & (users.plan[user] == _FREE)
    p_click = (
        _BASE_CTR
        * taste
        * position_bias
        * _SURFACE_CTR_MULT[surface]
        * users.click_propensity[user]
        * np.where(paywalled, 0.4, 1.0)
    )
    clicked = np.flatnonzero(rng.random(n_imp) < np.minimum(p_click, 0.9))

    impression_ids = _ids("imp-", first_impression, n_imp)
    impressions = pa.Table.from_arrays(
        [
            impression_ids,
            pa.array(user + 1, type=pa.int64()),
            pa.array(article + 1, type=pa.int64()),
            pa.array(shown, type=_TS),
            pa.array(position, type=pa.int32()),
            _labels(SURFACES, surface),
            pa.array(shown, type=_TS),  # placeholder: the true event time, replaced by _ingest
        ],
        schema=IMPRESSIONS_SCHEMA,
    )

    # Reactions: a click a few seconds (rarely minutes) after the impression, then rarer engagements
    # later in the read.
    n_click = clicked.size
    click_delay = np.clip(rng.lognormal(math.log(6.0), 1.0, size=n_click), 1.0, 600.0)
    click_at = shown[clicked] + (click_delay * _SECOND).astype(np.int64)
    dwell = np.round(np.clip(rng.lognormal(math.log(40.0), 0.9, size=n_click), 1.0, 3600.0), 1)
    source = [clicked]
    reacted = [click_at]
    kind = [np.zeros(n_click, dtype=np.int64)]
    for k, p in _ENGAGEMENT_PROB.items():
        hit = np.flatnonzero(rng.random(n_click) < p)
        later = dwell[hit] * rng.uniform(0.4, 1.0, hit.size) + rng.uniform(1.0, 60.0, hit.size)
        source.append(clicked[hit])
        reacted.append(click_at[hit] + (later * _SECOND).astype(np.int64))
        kind.append(np.full(hit.size, REACTION_KINDS.index(k)))
    src = np.concatenate(source)
    reacted_at = np.concatenate(reacted)
    kinds = np.concatenate(kind)
    dwell_all = np.concatenate([dwell, np.zeros(src.size - n_click)])
    order = np.argsort(reacted_at, kind="stable")
    src, reacted_at, kinds, dwell_all = src[order], reacted_at[order], kinds[order], dwell_all[order]
    reactions = pa.Table.from_arrays(
        [
            _ids("rx-", first_reaction, src.size),
            impression_ids.take(pa.array(src, type=pa.int64())),
            pa.array(user[src] + 1, type=pa.int64()),
            pa.array(article[src] + 1, type=pa.int64()),
            pa.array(reacted_at, type=_TS),
            _labels(REACTION_KINDS, kinds),
            pa.array(dwell_all, mask=kinds != 0, type=pa.float64()),
            pa.array(reacted_at, type=_TS),  # placeholder, see above
        ],
        schema=REACTIONS_SCHEMA,
    )
    return impressions, reactions


def _stage_day(
    config: DemoDataConfig,
    day: int,
    start_us: int,
    articles: _Articles,
    users: _Users,
    next_ids: dict[str, int],
    pending: dict[str, dict[int, list[pa.Table]]],
) -> None:
    """Generate event day `day`, dirty it, and file its rows under their ingestion days.

    A function of its own so the day's intermediate tables are freed before the next day starts.
    """
    impressions, reactions = _make_day(
        config, day, start_us, articles, users, next_ids["impressions"], next_ids["reactions"]
    )
    for name, table, stream in (
        ("impressions", impressions, _STREAM_INGEST_IMPRESSIONS),
        ("reactions", reactions, _STREAM_INGEST_REACTIONS),
    ):
        next_ids[name] += table.num_rows
        _stash(pending[name], _ingest(table, config, day, stream), start_us)


def _pick_articles(
    rng: np.random.Generator,
    articles: _Articles,
    shown: np.ndarray,
    day_start: int,
    surface: np.ndarray,
    session_category: np.ndarray,
) -> np.ndarray:
    """Article index per impression, among articles already published at `shown`.

    The weight attractiveness * 2**(-(t - published) / half_life) factors into a per-article term
    times a per-impression constant, so sampling at time t is sampling from a *prefix* (articles
    published <= t) of one fixed weight vector: a cumulative sum plus two searchsorted calls.
    Weights are taken relative to `day_start` and limited to a window so they never overflow.
    """
    lo, hi = np.searchsorted(articles.published_us, [day_start - _ARTICLE_WINDOW, day_start + 2 * _DAY])
    window = np.arange(lo, hi)
    age_term = np.exp2((articles.published_us[window] - day_start) / _HALF_LIFE)
    weight = articles.attractiveness[window] * age_term

    picked = np.empty(shown.size, dtype=np.int64)
    remaining = np.ones(shown.size, dtype=bool)
    tab = surface == _CATEGORY_TAB
    for c in range(len(CATEGORIES)):
        rows = np.flatnonzero(tab & (session_category == c))
        members = window[articles.category[window] == c]
        found = _sample_prefix(rng, articles.published_us[members], weight[members - lo], shown[rows])
        ok = found >= 0
        picked[rows[ok]] = members[found[ok]]
        remaining[rows[ok]] = False
    # Everything else, and category tabs whose category had nothing published yet.
    rows = np.flatnonzero(remaining)
    found = _sample_prefix(rng, articles.published_us[window], weight, shown[rows])
    # The backlog guarantees content before `start`; the fallback only guards a degenerate window.
    picked[rows] = window[np.maximum(found, 0)] if window.size else 0
    return picked


def _sample_prefix(rng: np.random.Generator, published: np.ndarray, weight: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Per time in `at`: an index into sorted `published`, drawn by weight among those <= t (-1: none)."""
    if at.size == 0:
        return np.empty(0, dtype=np.int64)
    if published.size == 0:
        return np.full(at.size, -1, dtype=np.int64)
    cumulative = np.cumsum(weight)
    available = np.searchsorted(published, at, side="right")
    total = np.where(available > 0, cumulative[np.maximum(available - 1, 0)], 0.0)
    index = np.searchsorted(cumulative, rng.random(at.size) * total, side="right")
    # Rounding can push the draw onto the prefix boundary; clamp back inside it.
    index = np.minimum(index, available - 1)
    return np.where(available > 0, index, -1).astype(np.int64)


def _labels(vocabulary: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    # Arrow's take avoids materialising millions of Python string references.
    return pa.array(vocabulary, type=pa.string()).take(pa.array(codes, type=pa.int64()))


def _ids(prefix: str, first: int, n: int) -> pa.Array:
    digits = pa.array(np.arange(first, first + n, dtype=np.int64)).cast(pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(digits, width=12, padding="0"), "")


# --------------------------------------------------------------------------------------------------
# Ingestion and dirt


def _ingest(table: pa.Table, config: DemoDataConfig, day: int, stream: int) -> pa.Table:
    """Set ingested_at from the true event time and add the configured dirt (see DemoDataConfig)."""
    rng = _rng(config, stream, day)
    n = table.num_rows
    event_col = "shown_at" if "shown_at" in table.schema.names else "reacted_at"
    event = table.column(event_col).cast(pa.int64()).to_numpy()

    ingested = event + _short_delay(rng, n)
    late = rng.random(n) < config.late_fraction
    late_delay = np.exp(rng.uniform(math.log(_HOUR), math.log(3 * _DAY), size=int(late.sum())))
    ingested[late] = event[late] + late_delay.astype(np.int64)

    # Client clock skew: the reported event time runs ahead of the time the row reached us.
    future = rng.random(n) < config.future_fraction
    skew = np.exp(rng.uniform(math.log(_HOUR), math.log(3 * _DAY), size=int(future.sum())))
    reported = event.copy()
    reported[future] = ingested[future] + skew.astype(np.int64)

    null_id = rng.random(n) < config.null_id_fraction
    null_user = null_id & (rng.random(n) < 0.5)
    null_article = null_id & ~null_user

    user = table.column("user_id").to_numpy()
    article = table.column("article_id").to_numpy()
    table = table.set_column(
        table.schema.get_field_index("user_id"), "user_id", pa.array(user, mask=null_user, type=pa.int64())
    )
    table = table.set_column(
        table.schema.get_field_index("article_id"),
        "article_id",
        pa.array(article, mask=null_article, type=pa.int64()),
    )
    table = table.set_column(table.schema.get_field_index(event_col), event_col, pa.array(reported, type=_TS))
    table = table.set_column(table.schema.get_field_index("ingested_at"), "ingested_at", pa.array(ingested, type=_TS))

    # Exact duplicates (at-least-once delivery): same row, same ingested_at, hence the same folder.
    duplicated = np.sort(rng.choice(n, size=rng.binomial(n, config.duplicate_fraction), replace=False))
    if duplicated.size:
        table = pa.concat_tables([table, table.take(pa.array(duplicated, type=pa.int64()))])
    return table


def _stash(by_day: dict[int, list[pa.Table]], table: pa.Table, start_us: int) -> None:
    ingest_day = (table.column("ingested_at").cast(pa.int64()).to_numpy() - start_us) // _DAY
    order = np.argsort(ingest_day, kind="stable")
    days, first = np.unique(ingest_day[order], return_index=True)
    bounds = [*first.tolist(), order.size]
    for i, d in enumerate(days.tolist()):
        rows = pa.array(order[bounds[i] : bounds[i + 1]], type=pa.int64())
        by_day.setdefault(d, []).append(table.take(rows))


def _sorted_by_ingestion(parts: list[pa.Table]) -> pa.Table:
    table = pa.concat_tables(parts)
    ingested = table.column("ingested_at").cast(pa.int64()).to_numpy()
    return table.take(pa.array(np.argsort(ingested, kind="stable"), type=pa.int64()))


# --------------------------------------------------------------------------------------------------
# Files


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _write(table: pa.Table, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")
    return table.num_rows
