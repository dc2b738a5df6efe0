"""Property tests: `article_popularity` and `user_category_affinity` as of any time equal brute-force
recomputations from the events (`feature_oracle`).

Same approach as test_feature_semantics.py, whose harness this reuses: one `dbt compile` of both models
per module, then each generated example loads staged impressions, reactions and articles into a fresh
in-memory DuckDB under the compiled SQL's staging relation names and runs the full-build SELECT.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.feature_oracle import (
    AFFINITY_GRAIN_SECONDS,
    AFFINITY_WINDOWS,
    ARTICLE_GRAIN_SECONDS,
    ARTICLE_WINDOWS,
    CLICK,
    AffinityFeatures,
    Article,
    ArticleFeatures,
    ArticlePopularityOracle,
    ArticleWindow,
    Impression,
    Reaction,
    UserCategoryAffinityOracle,
)
from test_feature_semantics import (
    BASE,
    DAY,
    CompiledModel,
    Events,
    Store,
    StoreRow,
    compare,
    compile_models,
    event_sets,
    mutant_or_skip,
    mutated_click_cap,
    mutated_every_click_counts,
    run_sql,
)

ARTICLE_MODEL = "article_popularity"
AFFINITY_MODEL = "user_category_affinity"
STAGING = {"stg_news__impressions", "stg_news__reactions", "stg_news__articles"}

ARTICLE_IDS = (10, 11, 12, 20, 2**40 + 5)
CATEGORIES = ("politics", "sports", "tech")


@pytest.fixture(scope="module")
def compiled_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CompiledModel]:
    models = compile_models(tmp_path_factory.mktemp("semantics_groups_project"), [ARTICLE_MODEL, AFFINITY_MODEL])
    for model in models.values():
        assert set(model.inputs) == STAGING
    return models


# ---------------------------------------------------------------------------------------------------
# Running the models
# ---------------------------------------------------------------------------------------------------


def run_article_popularity(
    model: CompiledModel, impressions: Sequence[Impression], reactions: Sequence[Reaction], articles: Sequence[Article]
) -> list[StoreRow]:
    columns = ["article_id", "effective_at"]
    for name in ARTICLE_WINDOWS:
        columns += [f"impressions_{name}", f"clicks_{name}", f"ctr_{name}"]
    # computed_at is bookkeeping, not a feature: never compared.
    columns += ["clicks_per_minute_15m", "click_acceleration_15m", "published_at", "category", "last_engaged_at"]
    rows = []
    for article_id, effective_at, *values in run_sql(model, columns, impressions, reactions, articles):
        windows = {
            name: ArticleWindow(*values[3 * index : 3 * index + 3]) for index, name in enumerate(ARTICLE_WINDOWS)
        }
        rest = values[3 * len(ARTICLE_WINDOWS) :]
        rows.append(StoreRow(article_id, effective_at, ArticleFeatures(windows, *rest)))
    return rows


def run_user_category_affinity(
    model: CompiledModel, impressions: Sequence[Impression], reactions: Sequence[Reaction], articles: Sequence[Article]
) -> list[StoreRow]:
    columns = ["user_id", "category", "effective_at", "clicks_30d", "user_clicks_30d", "click_share_30d"]
    columns += ["last_clicked_at"]
    return [
        StoreRow((user_id, category), effective_at, AffinityFeatures(*values))
        for user_id, category, effective_at, *values in run_sql(model, columns, impressions, reactions, articles)
    ]


def article_mismatches(
    model: CompiledModel,
    impressions: Sequence[Impression],
    reactions: Sequence[Reaction],
    articles: Sequence[Article],
    extra_times: Iterable[dt.datetime] = (),
) -> list[str]:
    oracle = ArticlePopularityOracle(impressions, reactions, articles)
    rows = run_article_popularity(model, impressions, reactions, articles)
    return compare(oracle, rows, extra_times, ARTICLE_GRAIN_SECONDS, "last_engaged_at")


def affinity_mismatches(
    model: CompiledModel,
    impressions: Sequence[Impression],
    reactions: Sequence[Reaction],
    articles: Sequence[Article],
    extra_times: Iterable[dt.datetime] = (),
) -> list[str]:
    oracle = UserCategoryAffinityOracle(impressions, reactions, articles)
    rows = run_user_category_affinity(model, impressions, reactions, articles)
    return compare(oracle, rows, extra_times, AFFINITY_GRAIN_SECONDS, "last_clicked_at")


# ---------------------------------------------------------------------------------------------------
# Generated events
# ---------------------------------------------------------------------------------------------------


def known_articles(min_known: int) -> st.SearchStrategy[list[Article]]:
    """At least `min_known` of ARTICLE_IDS (the others stay unknown), each with a category, sometimes null."""

    @st.composite
    def draw_articles(draw: st.DrawFn) -> list[Article]:
        known = draw(st.lists(st.sampled_from(ARTICLE_IDS), min_size=min_known, max_size=4, unique=True))
        return [
            Article(
                article_id,
                BASE - dt.timedelta(seconds=draw(st.integers(0, 3 * 86400))),
                draw(st.sampled_from([*CATEGORIES, None])),
            )
            for article_id in known
        ]

    return draw_articles()


# A few days of events against windows up to 24 h (clicks capped at 24 h).
article_events = event_sets(
    windows=ARTICLE_WINDOWS,
    grain_seconds=ARTICLE_GRAIN_SECONDS,
    span=3 * DAY,
    article_ids=ARTICLE_IDS,
    articles=known_articles(min_known=0),
)
# Events over more than the 30-day window, so one category's clicks can expire while another's count.
affinity_events = event_sets(
    windows=AFFINITY_WINDOWS,
    grain_seconds=AFFINITY_GRAIN_SECONDS,
    span=40 * DAY,
    article_ids=ARTICLE_IDS,
    # Mostly known, categorised articles: a user needs clicks in several categories for shares below 1.
    articles=known_articles(min_known=3),
)

PROPERTY_SETTINGS = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    # The module fixture is compiled once and never mutated; reusing it across examples is the point.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# ---------------------------------------------------------------------------------------------------
# article_popularity
# ---------------------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(sample=article_events)
def test_article_popularity_matches_the_brute_force_oracle(
    compiled_models: dict[str, CompiledModel], sample: Events
) -> None:
    model = compiled_models[ARTICLE_MODEL]
    problems = article_mismatches(model, sample.impressions, sample.reactions, sample.articles, sample.query_times)
    assert not problems, "\n".join(problems)


def _impression(index: int, user_id: int, article_id: int, shown_at: dt.datetime) -> Impression:
    return Impression(f"i{index}", user_id, article_id, shown_at)


def _click(index: int | str, impression: Impression, reacted_at: dt.datetime) -> Reaction:
    return Reaction(
        f"r{index}", impression.impression_id, impression.user_id, impression.article_id, reacted_at, CLICK, 1.0
    )


def test_article_velocity_double_clicks_late_clicks_and_unknown_articles(
    compiled_models: dict[str, CompiledModel],
) -> None:
    model = compiled_models[ARTICLE_MODEL]
    published = BASE - dt.timedelta(hours=3)
    articles = [Article(5, published, "sports")]
    start = BASE + dt.timedelta(hours=8)
    impressions = [_impression(n, 1, 5, start + dt.timedelta(minutes=n)) for n in range(3)]
    impressions.append(_impression(3, 1, 99, start))  # article 99 is not in stg_news__articles
    reactions = [
        _click(0, impressions[0], start + dt.timedelta(minutes=1)),
        _click(1, impressions[0], start + dt.timedelta(minutes=2)),  # a second click: not counted
        _click(2, impressions[1], impressions[1].shown_at + dt.timedelta(hours=24)),  # beyond the 24 h cap
        _click(3, impressions[3], start + dt.timedelta(minutes=3)),
    ]
    store = Store(run_article_popularity(model, impressions, reactions, articles))

    features = store.as_of(5, start + dt.timedelta(minutes=5))
    assert features is not None
    assert features.windows["15m"] == ArticleWindow(3, 1, 1 / 3)
    assert features.clicks_per_minute_15m == pytest.approx(1 / 15)
    assert features.click_acceleration_15m == 3.0
    assert (features.published_at, features.category) == (published, "sports")
    assert features.last_engaged_at == impressions[2].shown_at
    # After 15 minutes the 1 h window still counts the click: decelerating.
    later = store.as_of(5, start + dt.timedelta(minutes=20))
    assert later is not None and later.click_acceleration_15m == -1.0
    unknown = store.as_of(99, start + dt.timedelta(minutes=5))
    assert unknown is not None and (unknown.published_at, unknown.category) == (None, None)
    assert unknown.windows["15m"] == ArticleWindow(1, 1, 1.0)
    assert not article_mismatches(model, impressions, reactions, articles)


# ---------------------------------------------------------------------------------------------------
# user_category_affinity
# ---------------------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(sample=affinity_events)
def test_user_category_affinity_matches_the_brute_force_oracle(
    compiled_models: dict[str, CompiledModel], sample: Events
) -> None:
    model = compiled_models[AFFINITY_MODEL]
    problems = affinity_mismatches(model, sample.impressions, sample.reactions, sample.articles, sample.query_times)
    assert not problems, "\n".join(problems)


def test_affinity_shares_follow_clicks_and_a_pair_at_zero_has_share_0(
    compiled_models: dict[str, CompiledModel],
) -> None:
    model = compiled_models[AFFINITY_MODEL]
    articles = [Article(10, BASE, "politics"), Article(20, BASE, "sports"), Article(30, BASE, None)]
    day = dt.timedelta(days=1)
    impressions = [
        _impression(0, 1, 10, BASE + dt.timedelta(hours=10, minutes=5)),
        _impression(1, 1, 20, BASE + day + dt.timedelta(hours=10, minutes=5)),
        _impression(2, 1, 30, BASE + dt.timedelta(hours=10)),  # null category: ignored
        _impression(3, 1, 40, BASE + dt.timedelta(hours=10)),  # unknown article: ignored
        _impression(4, 1, 20, BASE + dt.timedelta(hours=10)),
    ]
    reactions = [
        _click(0, impressions[0], impressions[0].shown_at + dt.timedelta(minutes=5)),
        _click(1, impressions[0], impressions[0].shown_at + dt.timedelta(minutes=6)),  # second click
        _click(2, impressions[1], impressions[1].shown_at + dt.timedelta(minutes=5)),
        _click(3, impressions[2], impressions[2].shown_at + dt.timedelta(minutes=5)),
        _click(4, impressions[3], impressions[3].shown_at + dt.timedelta(minutes=5)),
        _click(5, impressions[4], impressions[4].shown_at + dt.timedelta(days=30)),  # beyond the 30 d cap
    ]
    store = Store(run_user_category_affinity(model, impressions, reactions, articles))
    politics, sports = (1, "politics"), (1, "sports")
    first_click, second_click = reactions[0].reacted_at, reactions[2].reacted_at

    assert store.as_of(politics, BASE + dt.timedelta(hours=10, minutes=59)) is None
    assert store.as_of(politics, BASE + dt.timedelta(hours=11)) == AffinityFeatures(1, 1, 1.0, first_click)
    assert store.as_of(sports, BASE + dt.timedelta(hours=11)) is None
    on_day_two = BASE + day + dt.timedelta(hours=11)
    assert store.as_of(politics, on_day_two) == AffinityFeatures(1, 2, 0.5, first_click)
    assert store.as_of(sports, on_day_two) == AffinityFeatures(1, 2, 0.5, second_click)
    # Politics leaves the 30-day window first: one row at 0 (share 0, no user total), which then holds.
    expiry = BASE + 30 * day + dt.timedelta(hours=11)
    assert store.as_of(politics, expiry) == AffinityFeatures(0, None, 0.0, first_click)
    assert store.as_of(sports, expiry) == AffinityFeatures(1, 1, 1.0, second_click)
    assert store.as_of(sports, expiry + day) == AffinityFeatures(0, None, 0.0, second_click)
    assert store.as_of(politics, expiry + day) == AffinityFeatures(0, None, 0.0, first_click)
    assert {key for key in store.keys} == {politics, sports}
    assert not affinity_mismatches(model, impressions, reactions, articles)


# ---------------------------------------------------------------------------------------------------
# The comparisons can fail
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("group", [ARTICLE_MODEL, AFFINITY_MODEL])
def test_the_comparisons_catch_counting_every_click_and_a_missing_cap(
    compiled_models: dict[str, CompiledModel], group: str
) -> None:
    model = compiled_models[group]
    mismatches = article_mismatches if group == ARTICLE_MODEL else affinity_mismatches
    cap = max((ARTICLE_WINDOWS if group == ARTICLE_MODEL else AFFINITY_WINDOWS).values())
    articles = [Article(10, BASE, "politics")]
    shown = _impression(0, 1, 10, BASE + dt.timedelta(hours=10, minutes=1))
    twice = [_click(n, shown, shown.shown_at + dt.timedelta(minutes=n)) for n in (1, 2)]
    late = [_click(0, shown, shown.shown_at + dt.timedelta(seconds=cap + 60))]
    for reactions in (twice, late):
        assert not mismatches(model, [shown], reactions, articles)

    mutated = mutant_or_skip(mutated_every_click_counts(model.sql), "the first-click filter")
    assert mismatches(model.with_sql(mutated), [shown], twice, articles)

    mutated = mutant_or_skip(mutated_click_cap(model.sql, cap), "the click cap")
    assert mismatches(model.with_sql(mutated), [shown], late, articles)
