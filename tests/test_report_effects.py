"""Effect sizes, permutation tests, P(improvement), TOST and power, each checked against a second
computation written out here: enumeration, textbook formulas, the noncentral t distribution."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize
from scipy.stats import nct
from scipy.stats import t as student_t

from ablab.stats.comparisons import ablation_table
from ablab.stats.effects import (
    MIN_BOOTSTRAP_N,
    independent_effects,
    paired_effects,
    probability_of_improvement,
)

ARM = np.array([0.412, 0.431, 0.405, 0.447, 0.420])
REFERENCE = np.array([0.401, 0.418, 0.409, 0.421, 0.399])


def _two_sided_power(effect_size: float, n: int, alpha: float, df: int, nc_scale: float) -> float:
    """Power of a two-sided t-test: P(|T| > t_crit) with T ~ noncentral t(df, effect * nc_scale)."""
    critical = student_t.ppf(1 - alpha / 2, df)
    noncentrality = effect_size * nc_scale
    return nct.sf(critical, df, noncentrality) + nct.cdf(-critical, df, noncentrality)


def test_paired_effect_size_permutation_and_tost_by_hand() -> None:
    d = ARM - REFERENCE
    found = paired_effects(ARM, REFERENCE, margin=0.01, alpha=0.05)
    assert found.effect_size == pytest.approx(d.mean() / d.std(ddof=1))
    # Exact sign-flip: all 2^5 sign patterns, two-sided (|mean| at least as large as observed).
    means = [abs(np.mean(np.array(signs) * d)) for signs in itertools.product([1, -1], repeat=5)]
    assert found.p_permutation == pytest.approx(np.mean(np.array(means) >= abs(d.mean()) - 1e-12))
    assert found.min_p_permutation == pytest.approx(2 / 32) and found.permutation_test == "exact sign-flip"
    # TOST: the larger of the two one-sided t-test p-values against -margin and +margin.
    se = d.std(ddof=1) / math.sqrt(5)
    lower = student_t.sf((d.mean() + 0.01) / se, 4)
    upper = student_t.cdf((d.mean() - 0.01) / se, 4)
    assert found.p_tost == pytest.approx(max(lower, upper))


def test_three_seeds_can_never_pass_a_sign_flip_test_at_five_percent() -> None:
    found = paired_effects(np.array([0.93, 0.95, 0.94]), np.array([0.10, 0.11, 0.12]), 0.01, 0.05)
    assert found.p_permutation == pytest.approx(0.25) and found.min_p_permutation == pytest.approx(0.25)
    assert math.isnan(found.effect_ci_low) and math.isnan(found.effect_ci_high)  # n < MIN_BOOTSTRAP_N


def test_paired_power_matches_the_noncentral_t() -> None:
    d = ARM - REFERENCE
    sd = d.std(ddof=1)
    found = paired_effects(ARM, REFERENCE, margin=0.01, alpha=0.05)
    # At the minimum detectable effect a paired t-test on 5 seeds has 80% power.
    assert _two_sided_power(found.mde / sd, 5, 0.05, 4, math.sqrt(5)) == pytest.approx(0.8, abs=1e-4)
    # The seeds needed for the margin: the smallest n with power >= 80%.
    n = int(found.seeds_needed)
    assert _two_sided_power(0.01 / sd, n, 0.05, n - 1, math.sqrt(n)) >= 0.8
    assert _two_sided_power(0.01 / sd, n - 1, 0.05, n - 2, math.sqrt(n - 1)) < 0.8


def test_unpaired_effects_by_hand() -> None:
    arm, reference = ARM[:4], REFERENCE
    found = independent_effects(arm, reference, margin=0.01, alpha=0.05)
    n1, n2 = len(arm), len(reference)
    pooled = math.sqrt(((n1 - 1) * arm.var(ddof=1) + (n2 - 1) * reference.var(ddof=1)) / (n1 + n2 - 2))
    correction = 1 - 3 / (4 * (n1 + n2) - 9)
    assert found.effect_size == pytest.approx((arm.mean() - reference.mean()) / pooled * correction)
    # Exact relabelling: every way to pick which 4 of the 9 runs are "the arm"; with unequal n the
    # null distribution is not symmetric, so two-sided = twice the smaller one-sided p (capped at 1).
    pooled_values = np.concatenate([arm, reference])
    observed = arm.mean() - reference.mean()
    diffs = []
    for chosen in itertools.combinations(range(9), 4):
        mask = np.zeros(9, bool)
        mask[list(chosen)] = True
        diffs.append(pooled_values[mask].mean() - pooled_values[~mask].mean())
    diffs = np.array(diffs)
    one_sided = min(np.mean(diffs >= observed - 1e-12), np.mean(diffs <= observed + 1e-12))
    assert found.p_permutation == pytest.approx(min(1.0, 2 * one_sided))
    assert found.min_p_permutation == pytest.approx(2 / math.comb(9, 4))
    # Welch TOST with Welch–Satterthwaite df.
    va, vb = arm.var(ddof=1) / n1, reference.var(ddof=1) / n2
    se, df = math.sqrt(va + vb), (va + vb) ** 2 / (va**2 / (n1 - 1) + vb**2 / (n2 - 1))
    delta = arm.mean() - reference.mean()
    expected = max(student_t.sf((delta + 0.01) / se, df), student_t.cdf((delta - 0.01) / se, df))
    assert found.p_tost == pytest.approx(expected)
    # MDE of a two-sample t-test (pooled df) at 80% power.
    nc_scale = math.sqrt(n1 * n2 / (n1 + n2))
    power = _two_sided_power(found.mde / pooled, 0, 0.05, n1 + n2 - 2, nc_scale)
    assert power == pytest.approx(0.8, abs=1e-4)


def test_probability_of_improvement_counts_pairs_and_follows_the_direction() -> None:
    arm, reference = np.array([3.0, 5.0, 2.0]), np.array([2.0, 4.0])
    # Pairs (a, r): (3,2) win, (3,4) loss, (5,2) win, (5,4) win, (2,2) tie, (2,4) loss -> 3.5 / 6.
    assert probability_of_improvement(arm, reference) == pytest.approx(3.5 / 6)
    assert probability_of_improvement(arm, reference, higher_is_better=False) == pytest.approx(2.5 / 6)


def test_bca_interval_of_d_z_agrees_with_the_exact_noncentral_t_interval() -> None:
    rng = np.random.default_rng(7)
    reference = rng.normal(0.80, 0.02, 30)
    arm = reference + rng.normal(0.01, 0.01, 30)
    found = paired_effects(arm, reference, 0.01, 0.05)
    d = arm - reference
    t_observed = d.mean() / (d.std(ddof=1) / math.sqrt(30))

    def bound(quantile: float) -> float:  # the d_z whose noncentral t puts t_observed at `quantile`
        return optimize.brentq(lambda dz: nct.cdf(t_observed, 29, dz * math.sqrt(30)) - quantile, -3, 4)

    exact_low, exact_high = bound(0.975), bound(0.025)
    assert found.effect_ci_low == pytest.approx(exact_low, abs=0.15)
    assert found.effect_ci_high == pytest.approx(exact_high, abs=0.25)
    assert found.effect_ci_low < found.effect_size < found.effect_ci_high
    assert MIN_BOOTSTRAP_N <= 30


def _values(arms: dict[str, list[float]]) -> pd.DataFrame:
    rows = [(arm, seed, v) for arm, values in arms.items() for seed, v in enumerate(values)]
    frame = pd.DataFrame(rows, columns=["arm", "seed", "value"])
    return frame.assign(best_val_accuracy=np.nan, epoch_to_90pct_best=np.nan, val_auc=np.nan)


def test_verdicts_better_worse_equivalent_inconclusive() -> None:
    arms = {
        "base": [0.900, 0.910, 0.905, 0.902, 0.908, 0.903],
        "up": [0.950, 0.962, 0.954, 0.951, 0.960, 0.955],
        "same": [0.9005, 0.9102, 0.9048, 0.9021, 0.9083, 0.9029],
        "noisy": [0.85, 0.97, 0.88, 0.95, 0.86, 0.93],
    }
    plan = pd.DataFrame({"arm": [a for a in arms for _ in range(6)], "changed": [{}] * 24})
    table = ablation_table(_values(arms), plan, list(arms), "base", scale=100, margin=0.01).set_index("arm")
    assert list(table["verdict"]) == ["reference", "better", "equivalent", "inconclusive"]
    assert table.loc["same", "margin"] == pytest.approx(1.0)  # shown in pp, like Δ
    tost = table.loc[["up", "same", "noisy"], "p_tost"].to_numpy()
    assert table.loc["same", "p_tost_holm"] == pytest.approx(min(1, sorted(tost)[0] * 3))
    lower = ablation_table(
        _values(arms), plan, list(arms), "base", higher_is_better=False, margin=0.01
    ).set_index("arm")
    assert lower.loc["up", "verdict"] == "worse"
    assert lower.loc["up", "p_improvement"] == pytest.approx(0.0)
    assert table.loc["up", "p_improvement"] == pytest.approx(1.0)


def test_each_arm_is_compared_with_the_arm_named_for_it() -> None:
    arms = {"base": [0.50, 0.52, 0.51], "+a": [0.60, 0.63, 0.61], "+b": [0.61, 0.62, 0.63]}
    plan = pd.DataFrame({"arm": [a for a in arms for _ in range(3)], "changed": [{}] * 9})
    steps = ablation_table(_values(arms), plan, list(arms), "base", compared_with={"+b": "+a"})
    steps = steps.set_index("arm")
    assert list(steps["compared_with"]) == ["", "base", "+a"]
    expected = np.mean([0.61, 0.62, 0.63]) - np.mean([0.60, 0.63, 0.61])
    assert steps.loc["+b", "delta"] == pytest.approx(expected)
