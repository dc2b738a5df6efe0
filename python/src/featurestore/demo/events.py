"""The demo's event tables, one day at a time: sessions of impressions, the reactions they draw, and the
dirt (late, null-id, duplicate, clock-skewed rows) with each row's ingestion time."""

from __future__ import annotations

import datetime
import math

import numpy as np
import pyarrow as pa

from featurestore.demo.entities import _Articles, _Users
from featurestore.demo.schemas import (
    _TS,
    CATEGORIES,
    IMPRESSIONS_SCHEMA,
    REACTION_KINDS,
    REACTIONS_SCHEMA,
    SURFACES,
    DemoDataConfig,
)
from featurestore.demo.shape import (
    _ACTIVITY_BY_HOUR,
    _ACTIVITY_BY_WEEKDAY,
    _ARTICLE_WINDOW,
    _BASE_CTR,
    _CATEGORY_TAB,
    _DAY,
    _ENGAGEMENT_PROB,
    _FREE,
    _HALF_LIFE,
    _HOUR,
    _MAX_POSITION,
    _SECOND,
    _STREAM_EVENTS,
    _STREAM_INGEST_IMPRESSIONS,
    _STREAM_INGEST_REACTIONS,
    _SURFACE_CTR_MULT,
    _SURFACE_SESSION_LENGTH,
    _SURFACE_SHARE,
    _ids,
    _labels,
    _rng,
    _short_delay,
    _times_in_days,
)


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
