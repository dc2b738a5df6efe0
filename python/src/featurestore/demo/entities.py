"""The demo's static tables: articles (publication times, categories, attractiveness) and users (plans,
activity, category preferences)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from featurestore.demo.schemas import _TS, ARTICLES_SCHEMA, CATEGORIES, PLANS, USERS_SCHEMA, DemoDataConfig
from featurestore.demo.shape import (
    _BACKLOG_DAYS,
    _CATEGORY_SHARE,
    _DAY,
    _MAX_POSITION,
    _N_PUBLISHERS,
    _PLAN_ACTIVITY_MULT,
    _PLAN_SHARE,
    _PREFERENCE_CONCENTRATION,
    _PUBLISHING_BY_HOUR,
    _STREAM_ARTICLES,
    _STREAM_USERS,
    _SURFACE_SESSION_LENGTH,
    _SURFACE_SHARE,
    _labels,
    _rng,
    _short_delay,
    _times_in_days,
)


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
