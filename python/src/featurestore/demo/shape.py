"""The shape of the demo traffic: the model's parameters (daily cycles, shares, rates) and the seeded random
streams every generator draws from (one per (seed, stream, day), so output does not depend on order)."""

from __future__ import annotations

import datetime
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from featurestore.demo.schemas import DemoDataConfig

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


def _rng(config: DemoDataConfig, stream: int, day: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([config.seed, stream, day]))


def _times_in_days(rng: np.random.Generator, day_starts_us: np.ndarray, hour_weights: np.ndarray) -> np.ndarray:
    hours = rng.choice(24, size=day_starts_us.size, p=hour_weights)
    return day_starts_us + hours * _HOUR + rng.integers(0, _HOUR, size=day_starts_us.size)


def _short_delay(rng: np.random.Generator, n: int) -> np.ndarray:
    # Normal pipeline latency: a few seconds, occasionally a couple of minutes.
    seconds = np.minimum(1.0 + rng.lognormal(math.log(6.0), 0.9, size=n), 150.0)
    return (seconds * _SECOND).astype(np.int64)


def _labels(vocabulary: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    # Arrow's take avoids materialising millions of Python string references.
    return pa.array(vocabulary, type=pa.string()).take(pa.array(codes, type=pa.int64()))


def _ids(prefix: str, first: int, n: int) -> pa.Array:
    digits = pa.array(np.arange(first, first + n, dtype=np.int64)).cast(pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(digits, width=12, padding="0"), "")
