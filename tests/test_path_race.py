"""The ablation path's races (ablab.stats.path_race): which candidates a step drops and takes, checked
against t-tests computed by scipy; the family-wise error of the early dropping on simulated null
steps; and the path replayed on a response with known interactions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ablab.stats.path_race import (
    full_ladder_runs,
    pair_level,
    race,
    replay_path,
    runs_at_most,
)
from ablab.stats.sequential import t_boundaries

ALPHA = 0.05


def _paired_t(a: np.ndarray, b: np.ndarray) -> float:
    return float(stats.ttest_rel(a, b).statistic)


def test_one_look_drops_the_candidates_a_bonferroni_t_test_puts_below_the_best() -> None:
    values = np.array(
        [
            [0.90, 0.92, 0.91, 0.93, 0.90, 0.92],  # the best mean
            [0.60, 0.62, 0.59, 0.61, 0.63, 0.60],  # far below: dropped
            [0.91, 0.90, 0.92, 0.90, 0.91, 0.91],  # within noise: kept
        ]
    )
    result = race(values[None], [6], ALPHA)
    level = ALPHA / 3  # three pairs of three candidates
    exact_bound = stats.t.isf(level / 2, 5)
    assert t_boundaries((6,), level, "pocock")[0] == pytest.approx(exact_bound, rel=0.03)
    assert _paired_t(values[1], values[0]) < -exact_bound * 1.5
    assert abs(_paired_t(values[2], values[0])) < exact_bound / 2
    assert list(result.dropped_at[0]) == [-1, 0, -1]
    assert result.chosen[0] == 0 and result.needs_seeds[0] == 0
    assert list(result.seeds_raced[0]) == [6, 6, 6]


def test_lower_is_better_takes_the_smallest_mean() -> None:
    values = np.array([[0.5, 0.52, 0.49, 0.51], [0.2, 0.21, 0.19, 0.22]])
    assert race(values[None], [4], ALPHA, higher_is_better=False).chosen[0] == 1
    assert race(values[None], [4], ALPHA, higher_is_better=True).chosen[0] == 0


def test_a_schedule_drops_early_gives_the_survivors_more_seeds_and_waits_for_them() -> None:
    rng = np.random.default_rng(3)
    best = 0.9 + 0.01 * rng.standard_normal(7)
    values = np.stack(
        [best, best - 0.3 + 0.01 * rng.standard_normal(7), best - 0.001 * rng.standard_normal(7)]
    )
    looks = [3, 5, 7]
    bound = t_boundaries(tuple(looks), pair_level(ALPHA, 3), "pocock")[0]
    assert _paired_t(values[1, :3], values[0, :3]) < -bound  # decided worse at the first look
    waiting = values.copy()
    waiting[:, 3:] = np.nan  # only the first look's seeds have run
    early = race(waiting[None], looks, ALPHA)
    assert early.dropped_at[0, 1] == 0 and early.chosen[0] == -1 and early.needs_seeds[0] == 5
    waiting[1, 3:] = np.nan  # a dropped candidate needs no more seeds
    full = values.copy()
    full[1, 3:] = np.nan
    done = race(full[None], looks, ALPHA)
    assert list(done.seeds_raced[0]) == [7, 3, 7]
    leader = int(np.argmax(full[[0, 2]].mean(axis=1)))
    assert done.chosen[0] == [0, 2][leader]


def test_early_dropping_keeps_the_family_wise_error_at_or_below_alpha_on_null_steps() -> None:
    """4,000 simulated steps of 4 equally good candidates: a step errs when it drops any of them."""
    rng = np.random.default_rng(20261207)
    steps, candidates, looks = 4000, 4, [3, 5, 7, 9]
    seed_effect = rng.standard_normal((steps, 1, looks[-1]))  # shared by the paired candidates
    for spending in ("pocock", "obrien_fleming"):
        values = seed_effect + rng.standard_normal((steps, candidates, looks[-1]))
        result = race(values, looks, ALPHA, spending)
        error_rate = (result.dropped_at >= 0).any(axis=1).mean()
        assert error_rate <= ALPHA, (spending, error_rate)
        assert (result.chosen >= 0).all()
    # The same races find a truly worse candidate: the check above is not vacuous.
    values = seed_effect + rng.standard_normal((steps, candidates, looks[-1]))
    values[:, 3] -= 3.0
    result = race(values, looks, ALPHA)
    assert (result.dropped_at[:, 3] >= 0).mean() > 0.9
    assert result.seeds_raced[:, 3].mean() < result.seeds_raced[:, :3].mean() - 2  # it saved seeds


def _response(flipped: frozenset[str]) -> float:
    """A known response: b helps most alone, but a and c together help more (an interaction)."""
    value = 0.5 + 0.10 * ("b" in flipped) + 0.06 * ("a" in flipped) + 0.02 * ("c" in flipped)
    return value + 0.08 * ({"a", "c"} <= flipped)


def test_the_replayed_path_is_greedy_on_the_response_and_stops_where_the_runs_stop() -> None:
    rng = np.random.default_rng(5)
    noise = 0.002 * rng.standard_normal((8, 4))
    index = {frozenset(s): i for i, s in enumerate([(), "a", "b", "c", "ab", "ac", "bc", "abc"])}

    def values_of(flipped: frozenset[str]) -> np.ndarray:
        return _response(flipped) + noise[index[frozenset("".join(sorted(flipped)))]]

    steps = replay_path(["a", "b", "c"], values_of, [4], ALPHA)
    # Step 1: b (+0.10) beats a (+0.06) and c (+0.02); step 2 from {b}: a (+0.06) beats c (+0.02).
    assert [step.chosen for step in steps] == ["b", "a", "c"]
    assert [step.flips for step in steps] == [["a", "b", "c"], ["a", "c"], ["c"]]
    assert steps[0].fate("c") == "decided worse at 4 seeds" and steps[0].fate("b") == "chosen"

    def partial(flipped: frozenset[str]) -> np.ndarray:
        return values_of(flipped) if len(flipped) < 2 else np.full(4, np.nan)

    stopped = replay_path(["a", "b", "c"], partial, [4], ALPHA)
    assert [step.chosen for step in stopped] == ["b", None]
    assert stopped[-1].needs_seeds == 4 and stopped[-1].current == frozenset({"b"})


def test_runs_at_most_against_a_full_ladder_over_all_orders() -> None:
    assert runs_at_most(3, 2) == (1 + 3 + 2 + 1) * 2
    assert full_ladder_runs(3, 2) == 8 * 2
    assert runs_at_most(10, 1) == 56 and full_ladder_runs(10, 1) == 1024
    assert math.comb(4, 2) * pair_level(ALPHA, 4) == pytest.approx(ALPHA)
