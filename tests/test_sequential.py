"""Adaptive seeds: the group-sequential test keeps its error rates over repeated looks, shown on
thousands of simulated studies (numpy only: no MLflow, no training)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ablab.errors import ConfigError
from ablab.stats.sequential import (
    AT_MAX,
    BETTER,
    CONTINUE,
    EQUIVALENT,
    WORSE,
    SeedSchedule,
    decide,
    nominal_levels,
    read_schedule,
    spent,
    t_boundaries,
)

ALPHA = 0.05
NULL_STUDIES = 4000


def _allowance(studies: int, rate: float = ALPHA) -> float:
    """rate + 3 Monte-Carlo standard errors: the most a valid procedure's estimate should show."""
    return rate + 3 * math.sqrt(rate * (1 - rate) / studies)


@pytest.mark.parametrize("spending", ["pocock", "obrien_fleming"])
def test_repeated_looks_keep_the_false_positive_rate_at_alpha(spending: str) -> None:
    schedule = SeedSchedule(start=3, step=2, max=11, spending=spending)
    rng = np.random.default_rng(12345)  # not the calibration's seed: an independent check
    null = rng.normal(0.0, 0.02, size=(NULL_STUDIES, schedule.max))  # no true difference
    outcome, _ = decide(null, schedule, ALPHA, margin=0.01)
    false_positives = np.isin(outcome, [BETTER, WORSE]).mean()
    assert false_positives <= _allowance(NULL_STUDIES)
    # The naive procedure - a plain t-test at alpha after every round - is what it replaces.
    naive = np.zeros(NULL_STUDIES, dtype=bool)
    for n in schedule.looks:
        sample = null[:, :n]
        t = sample.mean(axis=1) / (sample.std(axis=1, ddof=1) / math.sqrt(n))
        naive |= 2 * stats.t.sf(np.abs(t), n - 1) < ALPHA
    assert naive.mean() > _allowance(NULL_STUDIES)  # ~0.11: peeking without a correction inflates


def test_an_arm_exactly_at_the_margin_is_rarely_called_equivalent() -> None:
    schedule = SeedSchedule(start=3, step=2, max=11)
    rng = np.random.default_rng(777)
    at_margin = rng.normal(0.01, 0.01, size=(NULL_STUDIES, schedule.max))  # |Δ| = margin: not equivalent
    outcome, _ = decide(at_margin, schedule, ALPHA, margin=0.01)
    assert (outcome == EQUIVALENT).mean() <= _allowance(NULL_STUDIES)


def test_spending_functions_spend_alpha_by_the_last_look() -> None:
    fractions = np.array([0.25, 0.5, 1.0])
    pocock = spent(fractions, ALPHA, "pocock")
    assert pocock == pytest.approx(ALPHA * np.log(1 + (math.e - 1) * fractions))
    obf = spent(fractions, ALPHA, "obrien_fleming")
    assert obf == pytest.approx(2 - 2 * stats.norm.cdf(stats.norm.ppf(1 - ALPHA / 2) / np.sqrt(fractions)))
    assert pocock[-1] == pytest.approx(ALPHA) and obf[-1] == pytest.approx(ALPHA)
    # With one look the boundary is the ordinary two-sided t critical value.
    assert t_boundaries((5,), ALPHA, "pocock")[0] == pytest.approx(stats.t.isf(ALPHA / 2, 4), rel=0.01)
    assert nominal_levels((5,), ALPHA, "pocock")[0] == pytest.approx(ALPHA, rel=0.02)


def test_decisions_follow_the_direction_and_stop_at_the_first_crossing() -> None:
    schedule = SeedSchedule(start=3, step=2, max=7)
    clear = np.array([[0.30, 0.31, 0.29, 0.30, 0.32, 0.31, 0.30]])
    outcome, look = decide(clear, schedule, ALPHA, margin=0.01)
    levels = nominal_levels((3, 5, 7), ALPHA, "pocock")
    first = clear[0, :3]
    p_at_3 = 2 * stats.t.sf(first.mean() / (first.std(ddof=1) / math.sqrt(3)), 2)
    assert p_at_3 < levels[0] and (outcome[0], look[0]) == (BETTER, 0)
    assert decide(clear, schedule, ALPHA, 0.01, higher_is_better=False)[0][0] == WORSE
    noise = np.array([[0.01, -0.02, 0.015, -0.01, 0.02, -0.015, 0.005]])
    assert decide(noise, schedule, ALPHA, margin=0.001)[0][0] == AT_MAX
    assert decide(noise[:, :5], schedule, ALPHA, margin=0.001)[0][0] == CONTINUE  # max not reached yet


def test_schedules_are_checked() -> None:
    schedule = read_schedule({"start": 3, "step": 2, "max": 10})
    assert schedule.looks == [3, 5, 7, 9, 10] and schedule.seeds_at_look(1) == [0, 1, 2, 3, 4]
    bad_schedules = [
        {"start": 1, "step": 2, "max": 5},
        {"start": 3, "max": 5},
        {"start": 3, "step": 0, "max": 5},
        {"start": 3, "step": 2, "max": 9, "spending": "bonferroni"},
        {"start": 3, "step": 2, "max": 3},
    ]
    for bad in bad_schedules:
        with pytest.raises(ConfigError, match="study.seeds"):
            read_schedule(bad)
