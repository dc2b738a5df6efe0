"""Brute-force references for the feature groups: each feature as of a time, straight from the events.

Deliberately naive: every lookup rescans the entity's events and applies the definitions literally, with
none of the models' machinery (deltas, running sums, window edges). Where a model and its oracle agree on
random data, the model's bookkeeping is right. Time is handled in integer microseconds, so bucket
boundaries are exact here; any floating-point slip in a model's bucketing shows up as a disagreement.

Shared by all groups:
  - `first_clicks`: which click reactions count (the first click on each impression, within the group's
    longest window of it) and whose they are (the impression's user and article);
  - `Bucketing`: when an event becomes visible (the close of its bucket) and how long it stays in a window
    (while the bucket of the time it is anchored to, e.g. a click's impression, is younger than the window).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

CLICK = "click"
EPOCH = dt.datetime(1970, 1, 1)
_MICROS_PER_SECOND = 1_000_000

# user_engagement's grain and windows (kept as module constants: its tests use them directly).
GRAIN_SECONDS = 300
WINDOWS: Mapping[str, int] = {"1h": 3600, "24h": 86400, "7d": 604800}
ARTICLE_GRAIN_SECONDS = 300
ARTICLE_WINDOWS: Mapping[str, int] = {"15m": 900, "1h": 3600, "24h": 86400}
AFFINITY_GRAIN_SECONDS = 3600
AFFINITY_WINDOWS: Mapping[str, int] = {"30d": 2592000}


# ---------------------------------------------------------------------------------------------------
# Staged events
# ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Impression:
    impression_id: str
    user_id: int
    article_id: int
    shown_at: dt.datetime

    @property
    def counted_at(self) -> dt.datetime:
        return self.shown_at

    @property
    def anchored_at(self) -> dt.datetime:
        return self.shown_at


@dataclasses.dataclass(frozen=True)
class Reaction:
    reaction_id: str
    impression_id: str
    # The reaction's own user and article columns: the models ignore them (a click is the impression's).
    user_id: int
    article_id: int
    reacted_at: dt.datetime
    reaction_kind: str
    dwell_seconds: float | None


@dataclasses.dataclass(frozen=True)
class Article:
    article_id: int
    published_at: dt.datetime | None
    category: str | None


@dataclasses.dataclass(frozen=True)
class Click:
    """A counted click: the first click reaction on an impression, made within the group's cap of it."""

    impression_id: str
    user_id: int
    article_id: int
    shown_at: dt.datetime
    clicked_at: dt.datetime
    dwell_ms: int

    @property
    def counted_at(self) -> dt.datetime:
        return self.clicked_at

    @property
    def anchored_at(self) -> dt.datetime:
        # A click stays in a window while its impression does.
        return self.shown_at


def to_micros(moment: dt.datetime) -> int:
    """Microseconds since the epoch, exactly (timestamps are UTC without a time zone)."""
    return (moment - EPOCH) // dt.timedelta(microseconds=1)


def from_micros(micros: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=micros)


def dwell_millis(dwell_seconds: float | None) -> int:
    """round(dwell * 1000) as SQL engines round a double: half away from zero, null counted as 0."""
    if dwell_seconds is None:
        return 0
    scaled = dwell_seconds * 1000
    # Not Python's round() (half to even) nor floor(x + 0.5) (the addition itself can round up).
    whole = math.floor(abs(scaled))
    if abs(scaled) - whole >= 0.5:
        whole += 1
    return int(math.copysign(whole, scaled))


def first_clicks(
    impressions: Iterable[Impression], reactions: Iterable[Reaction], max_delay_seconds: int
) -> list[Click]:
    """The clicked impressions: per impression, its first click reaction not before it (earliest
    reacted_at, ties by reaction_id), if that click came less than `max_delay_seconds` after the impression.

    The first click is chosen before the cap: when it is too late the impression has no click at all.
    """
    by_id = {impression.impression_id: impression for impression in impressions}
    first: dict[str, Reaction] = {}
    for reaction in reactions:
        impression = by_id.get(reaction.impression_id)
        if reaction.reaction_kind != CLICK or impression is None or reaction.reacted_at < impression.shown_at:
            continue
        best = first.get(impression.impression_id)
        if best is None or (reaction.reacted_at, reaction.reaction_id) < (best.reacted_at, best.reaction_id):
            first[impression.impression_id] = reaction
    cap = dt.timedelta(seconds=max_delay_seconds)
    clicks = []
    for impression_id, reaction in sorted(first.items()):
        impression = by_id[impression_id]
        if reaction.reacted_at - impression.shown_at >= cap:
            continue
        clicks.append(
            Click(
                impression_id=impression_id,
                user_id=impression.user_id,
                article_id=impression.article_id,
                shown_at=impression.shown_at,
                clicked_at=reaction.reacted_at,
                dwell_ms=dwell_millis(reaction.dwell_seconds),
            )
        )
    return clicks


# ---------------------------------------------------------------------------------------------------
# Bucketing and windows
# ---------------------------------------------------------------------------------------------------


class Timed(Protocol):
    @property
    def counted_at(self) -> dt.datetime: ...

    @property
    def anchored_at(self) -> dt.datetime: ...


E = TypeVar("E", bound=Timed)
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Bucketing:
    """A group's grain and windows. Times called `now` are bucket closes in epoch seconds."""

    grain_seconds: int
    windows: Mapping[str, int]

    @property
    def longest(self) -> int:
        return max(self.windows.values())

    def close(self, moment: dt.datetime) -> int:
        """Epoch seconds at which an event at `moment` becomes visible: the end of its bucket."""
        return (to_micros(moment) // (self.grain_seconds * _MICROS_PER_SECOND) + 1) * self.grain_seconds

    def latest_close(self, moment: dt.datetime) -> int:
        """The latest bucket close <= moment, in epoch seconds: what a lookup at `moment` can see."""
        return to_micros(moment) // (self.grain_seconds * _MICROS_PER_SECOND) * self.grain_seconds

    def visible(self, events: Iterable[E], now: int) -> list[E]:
        return [event for event in events if self.close(event.counted_at) <= now]

    def in_window(self, events: Iterable[E], now: int, name: str) -> list[E]:
        """The visible events that count in window `name` at `now`."""
        seconds = self.windows[name]
        return [event for event in self.visible(events, now) if self.close(event.anchored_at) > now - seconds]

    def touches(self, events: Iterable[Timed]) -> set[int]:
        """Closes at which these events arrive or leave a window."""
        arrivals = {self.close(event.counted_at) for event in events}
        exits = {self.close(event.anchored_at) + seconds for event in events for seconds in self.windows.values()}
        # Impressions are anchored at their own time, so `exits` covers them; clicks leave with theirs.
        return arrivals | exits


def group_by(items: Iterable[T], key: Callable[[T], Hashable]) -> dict[Hashable, list[T]]:
    groups: dict[Hashable, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


# ---------------------------------------------------------------------------------------------------
# user_engagement
# ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class WindowFeatures:
    impressions: int
    clicks: int
    ctr: float | None
    avg_dwell_seconds: float | None


@dataclasses.dataclass(frozen=True)
class Features:
    windows: Mapping[str, WindowFeatures]
    last_active_at: dt.datetime


class Oracle:
    """user_engagement as of any time for a fixed set of events (entity: user_id)."""

    def __init__(
        self,
        impressions: Sequence[Impression],
        reactions: Sequence[Reaction],
        windows: Mapping[str, int] = WINDOWS,
    ) -> None:
        # `windows` is a parameter so a test can check that a wrong window length is noticed.
        self.bucketing = Bucketing(GRAIN_SECONDS, dict(windows))
        self._impressions = group_by(impressions, lambda i: i.user_id)
        clicks = first_clicks(impressions, reactions, self.bucketing.longest)
        self._clicks = group_by(clicks, lambda c: c.user_id)

    @property
    def keys(self) -> list[int]:
        return sorted(self._impressions)  # type: ignore[arg-type]

    def as_of(self, user_id: int, moment: dt.datetime) -> Features | None:
        """The user's features as of `moment`, or None while none of the user's events is visible."""
        bucketing, now = self.bucketing, self.bucketing.latest_close(moment)
        impressions = self._impressions.get(user_id, [])
        clicks = self._clicks.get(user_id, [])
        activity = [e.counted_at for e in bucketing.visible(impressions, now) + bucketing.visible(clicks, now)]
        if not activity:
            return None
        windows = {}
        for name in bucketing.windows:
            shown = len(bucketing.in_window(impressions, now, name))
            in_window = bucketing.in_window(clicks, now, name)
            dwell_ms = sum(c.dwell_ms for c in in_window)
            windows[name] = WindowFeatures(
                impressions=shown,
                clicks=len(in_window),
                ctr=ratio(len(in_window), shown),
                avg_dwell_seconds=ratio(dwell_ms / 1000, len(in_window)),
            )
        return Features(windows=windows, last_active_at=max(activity))

    def change_candidates(self) -> set[int]:
        """Epoch seconds at which some value may change: event closes and their window exits.

        Between two consecutive candidates every entity's features are constant, so checking the model
        at (and just before) each candidate covers all of time.
        """
        events: list[Timed] = [e for group in self._impressions.values() for e in group]
        events += [e for group in self._clicks.values() for e in group]
        return self.bucketing.touches(events)


# ---------------------------------------------------------------------------------------------------
# article_popularity
# ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ArticleWindow:
    impressions: int
    clicks: int
    ctr: float | None


@dataclasses.dataclass(frozen=True)
class ArticleFeatures:
    windows: Mapping[str, ArticleWindow]
    clicks_per_minute_15m: float
    click_acceleration_15m: float
    published_at: dt.datetime | None
    category: str | None
    last_engaged_at: dt.datetime


class ArticlePopularityOracle:
    """article_popularity as of any time (entity: article_id, the impression's article)."""

    bucketing = Bucketing(ARTICLE_GRAIN_SECONDS, ARTICLE_WINDOWS)

    def __init__(
        self, impressions: Sequence[Impression], reactions: Sequence[Reaction], articles: Sequence[Article]
    ) -> None:
        self._impressions = group_by(impressions, lambda i: i.article_id)
        clicks = first_clicks(impressions, reactions, self.bucketing.longest)
        self._clicks = group_by(clicks, lambda c: c.article_id)
        self._articles = {article.article_id: article for article in articles}

    @property
    def keys(self) -> list[int]:
        return sorted(self._impressions)  # type: ignore[arg-type]

    def as_of(self, article_id: int, moment: dt.datetime) -> ArticleFeatures | None:
        bucketing, now = self.bucketing, self.bucketing.latest_close(moment)
        impressions = self._impressions.get(article_id, [])
        clicks = self._clicks.get(article_id, [])
        activity = [e.counted_at for e in bucketing.visible(impressions, now) + bucketing.visible(clicks, now)]
        if not activity:
            return None
        windows = {}
        for name in bucketing.windows:
            shown = len(bucketing.in_window(impressions, now, name))
            clicked = len(bucketing.in_window(clicks, now, name))
            windows[name] = ArticleWindow(shown, clicked, ratio(clicked, shown))
        # Left join: an article missing from stg_news__articles still has rows, with null attributes.
        article = self._articles.get(article_id, Article(article_id, None, None))
        return ArticleFeatures(
            windows=windows,
            clicks_per_minute_15m=windows["15m"].clicks / 15,
            click_acceleration_15m=float(windows["15m"].clicks * 4 - windows["1h"].clicks),
            published_at=article.published_at,
            category=article.category,
            last_engaged_at=max(activity),
        )

    def change_candidates(self) -> set[int]:
        events: list[Timed] = [e for group in self._impressions.values() for e in group]
        events += [e for group in self._clicks.values() for e in group]
        return self.bucketing.touches(events)


# ---------------------------------------------------------------------------------------------------
# user_category_affinity
# ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AffinityFeatures:
    clicks_30d: int
    user_clicks_30d: int | None
    click_share_30d: float
    last_clicked_at: dt.datetime


class UserCategoryAffinityOracle:
    """user_category_affinity as of any time (entity: user_id + category of the clicked article).

    Only clicks on articles with a known, non-null category count, for the pair and for the user's total.
    While the pair has clicks in the window its values are live. Once its count is 0 the group emits no
    more rows for it until its next click arrives: its share is 0, its user total null (not tracked), and
    last_clicked_at that of its last click.
    """

    bucketing = Bucketing(AFFINITY_GRAIN_SECONDS, AFFINITY_WINDOWS)

    def __init__(
        self, impressions: Sequence[Impression], reactions: Sequence[Reaction], articles: Sequence[Article]
    ) -> None:
        categories = {article.article_id: article.category for article in articles}
        clicks = [
            click
            for click in first_clicks(impressions, reactions, self.bucketing.longest)
            if categories.get(click.article_id) is not None
        ]
        self._user_clicks = group_by(clicks, lambda c: c.user_id)
        self._pair_clicks = group_by(clicks, lambda c: (c.user_id, categories[c.article_id]))

    @property
    def keys(self) -> list[tuple[int, str]]:
        return sorted(self._pair_clicks)  # type: ignore[arg-type]

    def _live(self, user_id: int, pair_clicks: Sequence[Click], now: int) -> AffinityFeatures:
        clicks = len(self.bucketing.in_window(pair_clicks, now, "30d"))
        user_clicks = len(self.bucketing.in_window(self._user_clicks[user_id], now, "30d"))
        return AffinityFeatures(
            clicks_30d=clicks,
            user_clicks_30d=user_clicks if clicks > 0 else None,
            click_share_30d=clicks / user_clicks if clicks > 0 else 0.0,
            last_clicked_at=max(c.clicked_at for c in self.bucketing.visible(pair_clicks, now)),
        )

    def as_of(self, key: tuple[int, str], moment: dt.datetime) -> AffinityFeatures | None:
        user_id, _ = key
        now = self.bucketing.latest_close(moment)
        pair_clicks = self._pair_clicks.get(key, [])
        if not self.bucketing.visible(pair_clicks, now):
            return None
        return self._live(user_id, pair_clicks, now)

    def change_candidates(self) -> set[int]:
        return self.bucketing.touches([c for group in self._user_clicks.values() for c in group])
