"""Per comparison, beyond the t-test: effect size, exact permutation test, P(improvement), TOST, power.

Everything is in the metric's units. ``higher_is_better`` turns "improvement" around for a
metric where lower is better; the effect size keeps the sign of Δ (arm minus reference).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.power import TTestIndPower, TTestPower
from statsmodels.stats.weightstats import ttost_ind, ttost_paired

POWER = 0.8
# Below this many values a BCa bootstrap interval is far narrower than it should be (3 seeds:
# a third of the t-interval's width, docs/guide/report.md), so none is shown.
MIN_BOOTSTRAP_N = 8
BOOTSTRAP_RESAMPLES = 4999
# Exact permutation tests enumerate every relabelling; past this many, a random 9,999 of them.
MAX_EXACT_PERMUTATIONS = 2**17
RANDOM_PERMUTATIONS = 9999
NAN = float("nan")


@dataclass(frozen=True)
class Effects:
    effect_size: float  # paired: d_z = mean(d) / sd(d); unpaired: Hedges' g
    effect_size_name: str  # "d_z" or "g"
    effect_ci_low: float  # BCa bootstrap (scipy.stats.bootstrap); NaN below MIN_BOOTSTRAP_N
    effect_ci_high: float
    permutation_test: str  # "exact sign-flip", "exact relabelling" or the random variants
    p_permutation: float  # sign-flip of the paired differences, or relabelling of the runs
    min_p_permutation: float  # the smallest p that test can reach with these n
    p_improvement: float  # P(a run of the arm beats a run of the reference), ties count 1/2
    p_tost: float  # equivalence within ±margin (two one-sided t-tests, statsmodels)
    mde: float  # the smallest |Δ| a two-sided t-test detects at this n with 80% power
    seeds_needed: float  # seeds per arm to detect |Δ| = margin with 80% power (NaN: no spread)


def paired_effects(
    arm: np.ndarray, reference: np.ndarray, margin: float, alpha: float, higher_is_better: bool = True
) -> Effects:
    """``arm`` and ``reference`` matched by seed (same order, same length >= 2)."""
    differences = arm - reference
    n = len(differences)
    sd = float(np.std(differences, ddof=1))
    d_z = _ratio(float(np.mean(differences)), sd)
    low, high = _bca((differences,), _d_z, n)
    exact = 2**n <= MAX_EXACT_PERMUTATIONS
    permutation = stats.permutation_test(
        (differences,),
        _mean,
        permutation_type="samples",
        n_resamples=np.inf if exact else RANDOM_PERMUTATIONS,
        vectorized=True,
        rng=np.random.default_rng(0),
    )
    with _quiet():
        p_tost = float(ttost_paired(arm, reference, -margin, margin)[0]) if sd > 0 else NAN
    return Effects(
        effect_size=d_z,
        effect_size_name="d_z",
        effect_ci_low=low,
        effect_ci_high=high,
        permutation_test=f"{'exact' if exact else 'random'} sign-flip",
        p_permutation=float(permutation.pvalue),
        min_p_permutation=min(1.0, 2 / 2**n),
        p_improvement=probability_of_improvement(arm, reference, higher_is_better),
        p_tost=p_tost,
        mde=_solve(TTestPower(), nobs=n, alpha=alpha, power=POWER) * sd,
        seeds_needed=_seeds_needed(TTestPower(), _ratio(margin, sd), alpha),
    )


def independent_effects(
    arm: np.ndarray, reference: np.ndarray, margin: float, alpha: float, higher_is_better: bool = True
) -> Effects:
    """Unpaired runs (each arm >= 2 values): Hedges' g, a relabelling test, Welch's TOST."""
    n_arm, n_reference = len(arm), len(reference)
    pooled = float(_pooled_sd(arm, reference))
    low, high = _bca((arm, reference), _hedges_g, min(n_arm, n_reference))
    exact = math.comb(n_arm + n_reference, n_arm) <= MAX_EXACT_PERMUTATIONS
    permutation = stats.permutation_test(
        (arm, reference),
        _mean_difference,
        permutation_type="independent",
        n_resamples=np.inf if exact else RANDOM_PERMUTATIONS,
        vectorized=True,
        rng=np.random.default_rng(0),
    )
    with _quiet():
        p_tost = float(ttost_ind(arm, reference, -margin, margin, usevar="unequal")[0]) if pooled > 0 else NAN
    power = TTestIndPower()
    mde = _solve(power, nobs1=n_arm, ratio=n_reference / n_arm, alpha=alpha, power=POWER) * float(pooled)
    return Effects(
        effect_size=float(_hedges_g(arm, reference)),
        effect_size_name="g",
        effect_ci_low=low,
        effect_ci_high=high,
        permutation_test=f"{'exact' if exact else 'random'} relabelling",
        p_permutation=float(permutation.pvalue),
        min_p_permutation=min(1.0, 2 / math.comb(n_arm + n_reference, n_arm)),
        p_improvement=probability_of_improvement(arm, reference, higher_is_better),
        p_tost=p_tost,
        mde=mde,
        seeds_needed=_seeds_needed(power, _ratio(margin, pooled), alpha),
    )


def probability_of_improvement(
    arm: np.ndarray, reference: np.ndarray, higher_is_better: bool = True
) -> float:
    """P(X > Y) over every (arm run, reference run) pair, ties 1/2: the Mann–Whitney U / (n m)."""
    sign = 1.0 if higher_is_better else -1.0
    u = stats.mannwhitneyu(sign * np.asarray(arm), sign * np.asarray(reference)).statistic
    return float(u) / (len(arm) * len(reference))


def _mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis)


def _mean_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def _d_z(x: np.ndarray, axis: int = -1) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.mean(x, axis=axis) / np.std(x, ddof=1, axis=axis)


def _pooled_sd(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    nx, ny = x.shape[axis], y.shape[axis]
    pooled_var = ((nx - 1) * np.var(x, ddof=1, axis=axis) + (ny - 1) * np.var(y, ddof=1, axis=axis)) / (
        nx + ny - 2
    )
    return np.sqrt(pooled_var)


def _hedges_g(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Cohen's d with the pooled sd, times the small-sample correction J = 1 - 3 / (4 df - 1)."""
    df = x.shape[axis] + y.shape[axis] - 2
    with np.errstate(all="ignore"):
        return _mean_difference(x, y, axis) / _pooled_sd(x, y, axis) * (1 - 3 / (4 * df - 1))


def _bca(samples: tuple[np.ndarray, ...], statistic, n: int) -> tuple[float, float]:
    """A 95% BCa interval, or NaNs where n is too small for one to be honest (or it degenerates)."""
    if n < MIN_BOOTSTRAP_N:
        return NAN, NAN
    with _quiet():
        result = stats.bootstrap(
            samples,
            statistic,
            method="BCa",
            n_resamples=BOOTSTRAP_RESAMPLES,
            vectorized=True,
            rng=np.random.default_rng(0),  # the same report twice gives the same interval
        )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _solve(power_model, **known) -> float:
    """statsmodels' solve_power for the one unknown; NaN when it does not converge."""
    with _quiet():
        try:
            value = power_model.solve_power(effect_size=None, alternative="two-sided", **known)
        except (ValueError, RuntimeError, ZeroDivisionError):
            return NAN
    value = float(np.asarray(value).squeeze())
    return value if math.isfinite(value) else NAN


def _seeds_needed(power_model, effect_size: float, alpha: float) -> float:
    """Seeds per arm (at least 2) for 80% power at ``effect_size``."""
    if not math.isfinite(effect_size) or effect_size == 0:
        return NAN
    key = "nobs1" if isinstance(power_model, TTestIndPower) else "nobs"
    with _quiet():
        try:
            needed = power_model.solve_power(
                effect_size=abs(effect_size), alpha=alpha, power=POWER, alternative="two-sided", **{key: None}
            )
        except (ValueError, RuntimeError, ZeroDivisionError):
            return NAN
    needed = float(np.asarray(needed).squeeze())
    return float(max(2, math.ceil(needed))) if math.isfinite(needed) else NAN


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else NAN


@contextmanager
def _quiet() -> Iterator[None]:
    """scipy/statsmodels warn on degenerate inputs and return NaN/inf, which the table shows as –."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield
